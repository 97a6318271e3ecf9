"""Loops: a clip whose end leads back into its start, so a player set to repeat shows no jump."""

from __future__ import annotations

import numpy as np

from .options import crossfade_length


def boomerang(frames: np.ndarray) -> np.ndarray:
    """Forward then back, without repeating the end frames: frame k of the 2F - 2 equals frame 2F - 2 - k."""
    if len(frames) < 3:
        return frames
    return np.concatenate([frames, frames[-2:0:-1]])


def crossfade(frames: np.ndarray, fps: float) -> np.ndarray:
    """The clip from frame L on, with its last L frames blended into the first L, so it ends where it began.

    Output frame i is input frame L + i; over the last L output frames the weight of input frame i - (F - 2L) grows
    from 1/L to 1, so the final frame is input frame L - 1 and the loop wraps on to frame L."""
    count = len(frames)
    overlap = crossfade_length(count, fps)
    if count < 3:
        return frames
    body = frames[overlap:].astype(np.float32)
    head = frames[:overlap].astype(np.float32)
    weights = (np.arange(1, overlap + 1, dtype=np.float32) / overlap)[:, None, None, None]
    body[-overlap:] = body[-overlap:] * (1 - weights) + head * weights
    return np.clip(np.rint(body), 0, 255).astype(np.uint8)


def make_loop(frames: np.ndarray, loop: str, fps: float) -> np.ndarray:
    if loop == "boomerang":
        return boomerang(frames)
    if loop == "crossfade":
        return crossfade(frames, fps)
    return frames
