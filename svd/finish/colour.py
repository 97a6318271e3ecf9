"""Colour matching for chained segments: SVD drifts in colour and contrast when a clip is continued from its last
frame, and the drift adds up by the third or fourth segment. Every frame of a later segment gets, per RGB channel,
the mean and spread of the hand-over frame of the first segment, so the colours stay where the video started."""

from __future__ import annotations

import numpy as np

MIN_SPREAD = 1.0
"""A channel flatter than this (in 0-255 levels) is shifted, not stretched."""


def channel_stats(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation per frame and channel: two (frames, 3) arrays."""
    values = frames.reshape(len(frames), -1, 3).astype(np.float32)
    return values.mean(axis=1), values.std(axis=1)


def match_colours(frames: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """`frames` (F, H, W, 3) uint8 with the channel means and spreads of `reference` (H, W, 3) in every frame."""
    means, spreads = channel_stats(frames)
    target_mean, target_spread = (stat[0] for stat in channel_stats(reference[None]))
    gain = np.where(spreads < MIN_SPREAD, 1.0, target_spread / np.maximum(spreads, MIN_SPREAD))
    matched = (frames.astype(np.float32) - means[:, None, None, :]) * gain[:, None, None, :]
    matched += target_mean
    return np.clip(np.rint(matched), 0, 255).astype(np.uint8)
