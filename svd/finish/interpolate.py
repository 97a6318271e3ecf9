"""Frame interpolation: RIFE when its weights can be had, else ffmpeg's motion-compensated `minterpolate` (in
imageio-ffmpeg's bundled ffmpeg), and the result says which one ran."""

from __future__ import annotations

import numpy as np

from ..cancel import Cancel
from ..errors import OutputError
from ..media import ffmpeg

MINTERPOLATE = "minterpolate"
_MINTERPOLATE_FILTER = "format=yuv444p,minterpolate=fps={fps}:mi_mode=mci:mc_mode=aobmc:me_mode=bidir:vsbmc=1"
"""Motion-compensated interpolation with overlapped blocks and bidirectional motion estimation, in full-resolution
chroma so the new frames keep the colours of the generated ones."""


def interpolated_count(num_frames: int, factor: int) -> int:
    return (num_frames - 1) * factor + 1


def minterpolate(frames: np.ndarray, factor: int, fps: int, cancel: Cancel | None = None) -> np.ndarray:
    """(F - 1) * factor + 1 frames at fps * factor from ffmpeg; frame i * factor is input frame i.

    minterpolate stops short of the last input frame, so the input is padded with two copies of it and the output
    cut back to length; the generated frames are put back as they were, untouched by the trip through YUV."""
    count, height, width, _ = frames.shape
    padded = np.concatenate([frames, np.repeat(frames[-1:], 2, axis=0)])
    arguments = [
        *ffmpeg.raw_input(width, height, fps),
        "-vf", _MINTERPOLATE_FILTER.format(fps=fps * factor), "-f", "rawvideo", "-pix_fmt", "rgb24", "-",
    ]  # fmt: skip
    data = np.ascontiguousarray(padded).tobytes()
    status, made, said = ffmpeg.run(arguments, data, cancel, "the frames were interpolated")
    wanted = interpolated_count(count, factor)
    output = np.frombuffer(made, np.uint8)
    if status != 0 or output.size < wanted * height * width * 3:
        reason = said.strip().splitlines()[-1:] or ["too few frames"]
        raise OutputError(f"ffmpeg's minterpolate failed ({reason[0]})", "try without interpolation")
    interpolated = output[: wanted * height * width * 3].reshape(wanted, height, width, 3).copy()
    interpolated[::factor] = frames
    return interpolated
