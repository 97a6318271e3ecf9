"""Frames to files: H.264 MP4 through imageio-ffmpeg's bundled ffmpeg (no system ffmpeg needed), and PNG frames."""

from __future__ import annotations

import io
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from PIL import Image

from .errors import OutputError
from .files import atomic_path, disk_full

DEFAULT_CRF = 18
"""x264 constant rate factor: 0 is lossless, 18 is visually lossless, 23 is ffmpeg's default."""

_TO_BT709 = (
    "scale=out_color_matrix=bt709:out_range=tv,"
    "setparams=colorspace=bt709:color_primaries=bt709:color_trc=bt709:range=tv"
)
"""Convert with the BT.709 matrix and say so in the stream, so browsers show the colours that were generated."""


def write_mp4(frames: np.ndarray, path: Path, fps: int, crf: int = DEFAULT_CRF) -> None:
    """Encode (frames, height, width, 3) uint8 RGB as H.264 yuv420p with the index first (`+faststart`).

    The bundled ffmpeg runs directly rather than through imageio-ffmpeg's frame writer, which ignores ffmpeg's exit
    status: a failed encode (a full disk while writing the trailer) must fail here, before the rename."""
    count, height, width, channels = frames.shape
    if channels != 3 or frames.dtype != np.uint8 or count == 0 or width % 2 or height % 2:
        raise ValueError(f"expected (frames, even height, even width, 3) uint8 frames: {frames.shape} {frames.dtype}")
    with atomic_path(path) as temporary:
        command = [
            imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-nostdin", "-loglevel", "error",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(fps), "-i", "-",
            "-an", "-c:v", "libx264", "-crf", str(crf), "-preset", "medium",
            "-vf", _TO_BT709, "-pix_fmt", "yuv420p", "-movflags", "+faststart",
            str(temporary),
        ]  # fmt: skip
        encoder = subprocess.run(command, input=np.ascontiguousarray(frames).tobytes(), capture_output=True)
        if encoder.returncode != 0 or not _looks_like_mp4(temporary):
            raise encoder_error(encoder.stderr.decode(errors="replace"), path.parent)


def _looks_like_mp4(path: Path) -> bool:
    """A complete faststart MP4 begins with its `ftyp` box and has the `moov` index right after it."""
    try:
        with path.open("rb") as file:
            head = file.read(4096)
    except OSError:
        return False
    return head[4:8] == b"ftyp" and b"moov" in head


def encoder_error(stderr: str, folder: Path) -> OutputError:
    if "No space left on device" in stderr or "Disk quota exceeded" in stderr:
        return disk_full(folder)
    reason = next((line for line in reversed(stderr.splitlines()) if line.strip()), "no output")
    return OutputError(f"ffmpeg could not write the video in {folder} ({reason.strip()})", "check the output folder")


def write_png_frames(frames: np.ndarray, folder: Path) -> None:
    """Write lossless frames as `folder/0000.png`, `0001.png`, ...; the folder appears only when complete."""
    with atomic_path(folder) as temporary:
        temporary.mkdir()
        for name, data in png_frames(frames):
            (temporary / name).write_bytes(data)


def write_png_zip(frames: np.ndarray, path: Path) -> None:
    """Write lossless frames as `0000.png`, `0001.png`, ... inside one zip file (stored: PNG is compressed already)."""
    with atomic_path(path) as temporary, zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in png_frames(frames):
            archive.writestr(name, data)


def png_frames(frames: np.ndarray) -> Iterator[tuple[str, bytes]]:
    """Each frame as a numbered PNG (fast compression: the pixels are exact whatever the level)."""
    for index, frame in enumerate(frames):
        buffer = io.BytesIO()
        Image.fromarray(frame).save(buffer, format="PNG", compress_level=1)
        yield f"{index:04d}.png", buffer.getvalue()
