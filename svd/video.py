"""Frames to files: H.264 MP4 through imageio-ffmpeg's bundled ffmpeg (no system ffmpeg needed), and PNG frames."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from PIL import Image

from .files import atomic_path

DEFAULT_CRF = 18
"""x264 constant rate factor: 0 is lossless, 18 is visually lossless, 23 is ffmpeg's default."""

_TO_BT709 = (
    "scale=out_color_matrix=bt709:out_range=tv,"
    "setparams=colorspace=bt709:color_primaries=bt709:color_trc=bt709:range=tv"
)
"""Convert with the BT.709 matrix and say so in the stream, so browsers show the colours that were generated."""


def write_mp4(frames: np.ndarray, path: Path, fps: int, crf: int = DEFAULT_CRF) -> None:
    """Encode (frames, height, width, 3) uint8 RGB as H.264 yuv420p with the index first (`+faststart`)."""
    count, height, width, channels = frames.shape
    if channels != 3 or frames.dtype != np.uint8 or count == 0:
        raise ValueError(f"expected (frames, height, width, 3) uint8 frames, got {frames.shape} {frames.dtype}")
    with atomic_path(path) as temporary:
        writer = imageio_ffmpeg.write_frames(
            str(temporary),
            (width, height),
            fps=fps,
            codec="libx264",
            pix_fmt_in="rgb24",
            pix_fmt_out="yuv420p",
            quality=None,
            macro_block_size=2,
            ffmpeg_log_level="error",
            output_params=[
                "-crf", str(crf),
                "-preset", "medium",
                "-vf", _TO_BT709,
                "-movflags", "+faststart",
            ],
        )  # fmt: skip
        writer.send(None)
        try:
            for frame in frames:
                writer.send(np.ascontiguousarray(frame))
        finally:
            writer.close()


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
