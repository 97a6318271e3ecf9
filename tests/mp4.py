"""Reading back the MP4s we write, with ffmpeg itself (imageio-ffmpeg's binary), rather than trusting our writer."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import numpy as np


@dataclass
class DecodedVideo:
    codec: str
    pix_fmt: str
    fps: float
    size: tuple[int, int]
    frames: np.ndarray
    top_level_boxes: list[str]


def decode(path: Path | str) -> DecodedVideo:
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    width, height = meta["size"]
    frames = np.stack([np.frombuffer(frame, np.uint8).reshape(height, width, 3) for frame in reader])
    return DecodedVideo(
        codec=meta["codec"].rstrip(","),  # imageio-ffmpeg reads "gif," off a GIF stream line
        pix_fmt=meta["pix_fmt"].split("(")[0],
        fps=meta["fps"],
        size=(width, height),
        frames=frames,
        top_level_boxes=mp4_boxes(path),
    )


def mp4_boxes(path: Path | str) -> list[str]:
    """The top-level box types in file order; `+faststart` puts `moov` before `mdat`."""
    data = Path(path).read_bytes()
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        boxes.append(kind.decode("latin-1"))
        if size < 8:
            break
        offset += size
    return boxes


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    error = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if error == 0 else 10 * np.log10(255.0**2 / error)
