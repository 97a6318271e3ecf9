"""Loops: a clip whose end leads back into its start, so a player set to repeat shows no jump. Each looped frame is
made when it is read, from the frames before it (upscaled ones too), so a loop holds no copy of the clip."""

from __future__ import annotations

import numpy as np

from ..media.frames import Frames, LazyFrames, remapped
from .options import crossfade_length

LOOP_STAGE = "finish_loop"


def boomerang(frames: Frames) -> Frames:
    """Forward then back, without repeating the end frames: frame k of the 2F - 2 equals frame 2F - 2 - k."""
    count = len(frames)
    if count < 3:
        return frames
    return remapped(frames, [*range(count), *range(count - 2, 0, -1)], LOOP_STAGE)


def crossfade(frames: Frames, fps: float) -> Frames:
    """The clip from frame L on, with its last L frames blended into the first L, so it ends where it began.

    Output frame i is input frame L + i; over the last L output frames the weight of input frame i - (F - 2L) grows
    from 1/L to 1, so the final frame is input frame L - 1 and the loop wraps on to frame L."""
    count = len(frames)
    overlap = crossfade_length(count, fps)
    if count < 3:
        return frames
    _, height, width, _ = frames.shape
    blended_from = count - 2 * overlap

    def frame(index: int) -> np.ndarray:
        body = frames[overlap + index]
        if index < blended_from:
            return body
        weight = np.float32(index - blended_from + 1) / np.float32(overlap)
        head = frames[index - blended_from]
        mixed = body.astype(np.float32) * (1 - weight) + head.astype(np.float32) * weight
        return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)

    return LazyFrames(count - overlap, height, width, frame, LOOP_STAGE, frames)


def make_loop(frames: Frames, loop: str, fps: float) -> Frames:
    if loop == "boomerang":
        return boomerang(frames)
    if loop == "crossfade":
        return crossfade(frames, fps)
    return frames
