"""The bundled ffmpeg (imageio-ffmpeg's, so no system ffmpeg is needed), fed raw RGB frames on its standard input.

Encoders take the frames one at a time (`FfmpegPipe`), so a long or large video is never in memory whole; a filter
that gives frames back (`run`) is waited for in short steps, so a cancel stops it at once.
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile

import imageio_ffmpeg
import numpy as np

from ..cancel import Cancel, stop_if_cancelled

WAIT_STEP_SECONDS = 0.25


def raw_input(width: int, height: int, fps: float) -> list[str]:
    """The arguments that make ffmpeg read (frames, height, width, 3) uint8 RGB from its standard input."""
    return ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(fps), "-i", "-"]


def _command(arguments: list[str]) -> list[str]:
    return [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-nostdin", "-loglevel", "error", *arguments]


class FfmpegPipe:
    """One ffmpeg process reading frames from its standard input. Its messages go to a temporary file, not a pipe,
    so none can fill up while frames are written to several encoders in turn."""

    def __init__(self, arguments: list[str]):
        self._messages = tempfile.TemporaryFile()  # noqa: SIM115 (closed by finish or kill)
        self.process = subprocess.Popen(
            _command(arguments), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._messages
        )

    def write(self, frame: np.ndarray) -> None:
        with contextlib.suppress(BrokenPipeError):  # ffmpeg stopped early; `finish` says why
            self.process.stdin.write(np.ascontiguousarray(frame).data)  # type: ignore[union-attr]

    def finish(self) -> tuple[int, str]:
        """Close its input and wait for it: its exit status and what it said."""
        with contextlib.suppress(BrokenPipeError):
            self.process.stdin.close()  # type: ignore[union-attr]
        status = self.process.wait()
        self._messages.seek(0)
        said = self._messages.read().decode(errors="replace")
        self._messages.close()
        return status, said

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()
        self._messages.close()


def run(arguments: list[str], data: bytes, cancel: Cancel | None, doing: str) -> tuple[int, bytes, str]:
    """Run ffmpeg on `data`, reading what it writes to its standard output: its exit status, output and messages."""
    stop_if_cancelled(cancel, doing)
    process = subprocess.Popen(
        _command(arguments), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    pending: bytes | None = data
    while True:
        try:
            output, messages = process.communicate(pending, timeout=WAIT_STEP_SECONDS)
            return process.returncode, output, messages.decode(errors="replace")
        except subprocess.TimeoutExpired:
            pending = None  # the rest of the input is still sent: communicate keeps it
            if cancel is not None and cancel.is_set():
                process.kill()
                process.communicate()
                stop_if_cancelled(cancel, doing)
