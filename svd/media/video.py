"""Frames to files in one pass: every file of a video (the MP4, its other formats, its PNG frames) takes each frame as
it comes, so a frame is made once (an upscaled one too) and only a few are ever in memory.

Each file is written where it is told (a temporary path of the store's); a failed encode raises `OutputError`, a
cancel `CancelledError`, and then every file of the pass is stopped.
"""

from __future__ import annotations

import contextlib
import io
import zipfile
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image

from ..cancel import Cancel, stop_if_cancelled
from ..errors import OutputError
from .ffmpeg import FfmpegPipe, raw_input
from .files import atomic_path, disk_full
from .formats import output_options
from .frames import Frames

POSTER_SIZE = (480, 480)
DEFAULT_CRF = 18
"""x264 constant rate factor: 0 is lossless, 18 is visually lossless, 23 is ffmpeg's default."""


class FrameSink(Protocol):
    """A file that takes a video's frames one at a time."""

    def write(self, frame: np.ndarray) -> None: ...

    def close(self) -> None:
        """Complete the file, or raise `OutputError`."""

    def abort(self) -> None:
        """Stop without completing the file (the caller removes it)."""


class Encoded:
    """A video file in format `name` (mp4, webm, gif, webp) made by ffmpeg at `path`."""

    def __init__(self, path: Path, name: str, width: int, height: int, fps: float, crf: int = DEFAULT_CRF):
        if width % 2 or height % 2:
            raise ValueError(f"video sides must be even: {width}x{height}")
        self.path = path
        self.name = name
        self.pipe = FfmpegPipe([*raw_input(width, height, fps), *output_options(name, crf), str(path)])

    def write(self, frame: np.ndarray) -> None:
        self.pipe.write(frame)

    def close(self) -> None:
        status, said = self.pipe.finish()
        if status != 0 or not _complete(self.path, self.name):
            raise encoder_error(said, self.path)

    def abort(self) -> None:
        self.pipe.kill()


class PngZip:
    """The lossless frames as `0000.png`, `0001.png`, ... in one zip (stored: PNG is compressed already)."""

    def __init__(self, path: Path):
        self.archive = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED)
        self.count = 0

    def write(self, frame: np.ndarray) -> None:
        self.archive.writestr(f"{self.count:04d}.png", png_bytes(frame))
        self.count += 1

    def close(self) -> None:
        self.archive.close()

    def abort(self) -> None:
        with contextlib.suppress(OSError):  # the file is removed anyway; the error that stopped it is the one to tell
            self.archive.close()


class PngFolder:
    """The lossless frames as `0000.png`, `0001.png`, ... in a folder."""

    def __init__(self, path: Path):
        path.mkdir()
        self.path = path
        self.count = 0

    def write(self, frame: np.ndarray) -> None:
        (self.path / f"{self.count:04d}.png").write_bytes(png_bytes(frame))
        self.count += 1

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


class Poster:
    """A small JPEG of the first frame, for the history's gallery (a sink that keeps only the first frame)."""

    def __init__(self, path: Path):
        self.path = path
        self.written = False

    def write(self, frame: np.ndarray) -> None:
        if not self.written:
            poster = Image.fromarray(frame)
            poster.thumbnail(POSTER_SIZE)
            poster.save(self.path, format="JPEG", quality=85)
            self.written = True

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


def write_frames(frames: Frames, sinks: list[FrameSink], cancel: Cancel | None = None) -> None:
    """Give every frame to every sink, in order, then complete them; on any failure or a cancel, stop them all."""
    try:
        for index in range(len(frames)):
            stop_if_cancelled(cancel, "the video was written")
            frame = frames[index]
            for sink in sinks:
                sink.write(frame)
        for sink in sinks:
            sink.close()
    except BaseException:
        for sink in sinks:
            sink.abort()
        raise


def write_video(frames: Frames, stem: Path, fps: float, name: str, crf: int = DEFAULT_CRF) -> Path:
    """Write one video file on its own, `stem.<name>` (mp4, webm, gif or webp), from (frames, height, width, 3) uint8
    RGB; it appears once complete. An MP4 is H.264 yuv420p with its index first (`+faststart`)."""
    path = stem.with_name(f"{stem.name}.{name}")
    count, height, width, channels = frames.shape
    if channels != 3 or count == 0 or (isinstance(frames, np.ndarray) and frames.dtype != np.uint8):
        raise ValueError(f"expected (frames, height, width, 3) uint8 frames, not {frames.shape}")
    with atomic_path(path) as temporary:
        write_frames(frames, [Encoded(temporary, name, width, height, fps, crf)])
    return path


def write_png_zip(frames: Frames, path: Path) -> None:
    with atomic_path(path) as temporary:
        write_frames(frames, [PngZip(temporary)])


def png_bytes(frame: np.ndarray) -> bytes:
    """A frame as PNG (fast compression: the pixels are exact whatever the level)."""
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _complete(path: Path, name: str) -> bool:
    """The file is there and not empty; a faststart MP4 also begins with its `ftyp` box and its `moov` index."""
    try:
        with path.open("rb") as file:
            head = file.read(4096)
    except OSError:
        return False
    if name == "mp4":
        return head[4:8] == b"ftyp" and b"moov" in head
    return bool(head)


def encoder_error(stderr: str, path: Path) -> OutputError:
    """What a failed encode of `path` means to the user, in words that name no folder of the server."""
    if "No space left on device" in stderr or "Disk quota exceeded" in stderr:
        return disk_full()
    reason = next((line for line in reversed(stderr.splitlines()) if line.strip()), "no output")
    reason = reason.strip().replace(str(path), path.suffix[1:] + " file")
    return OutputError(f"ffmpeg could not write the {path.suffix[1:]} video ({reason})", "check the output folder")
