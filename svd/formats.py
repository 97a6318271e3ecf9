"""The other formats a video can be written in beside the MP4, each by imageio-ffmpeg's bundled ffmpeg: WebM (VP9),
GIF (one palette made for the clip, at most GIF_MAX_WIDTH wide) and animated WebP. Like the MP4, each file appears
only once it is complete."""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np

from .files import atomic_path
from .video import encoder_error, write_mp4

GIF_MAX_WIDTH = 640
"""GIFs are big: wider clips are scaled down to this (Lanczos), keeping their aspect."""

_OUTPUT_OPTIONS = {
    "webm": ["-c:v", "libvpx-vp9", "-crf", "32", "-b:v", "0", "-row-mt", "1", "-pix_fmt", "yuv420p"],
    "gif": [
        "-vf",
        f"scale='min({GIF_MAX_WIDTH},iw)':-2:flags=lanczos,split[a][b];[a]palettegen=stats_mode=diff[p];"
        "[b][p]paletteuse=dither=sierra2_4a",
        "-loop", "0",
    ],
    "webp": ["-c:v", "libwebp_anim", "-quality", "85", "-loop", "0", "-pix_fmt", "yuv420p"],
}  # fmt: skip
"""VP9 at constant quality 32 (visually close to the MP4); GIF with a palette fitted to the clip's motion; WebP lossy
at quality 85. GIF and WebP loop forever, as clips shared as pictures are expected to."""


def write_video(frames: np.ndarray, stem: Path, fps: int, name: str) -> Path:
    """Write (frames, height, width, 3) uint8 RGB as `stem.<name>` (mp4, webm, gif or webp); returns its path."""
    path = stem.with_name(f"{stem.name}.{name}")
    if name == "mp4":
        write_mp4(frames, path, fps=fps)
        return path
    _, height, width, _ = frames.shape
    with atomic_path(path) as temporary:
        command = [
            imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-nostdin", "-loglevel", "error",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(fps), "-i", "-",
            "-an", *_OUTPUT_OPTIONS[name], "-f", name, str(temporary),
        ]  # fmt: skip
        encoder = subprocess.run(command, input=np.ascontiguousarray(frames).tobytes(), capture_output=True)
        if encoder.returncode != 0 or not temporary.is_file() or temporary.stat().st_size == 0:
            raise encoder_error(encoder.stderr.decode(errors="replace"), path.parent)
    return path
