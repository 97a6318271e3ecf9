"""Extend: a longer shot from chained segments, each animated from the last frame of the one before.

Each later segment's first frame repeats the hand-over frame and is dropped, so the motion runs on without a pause,
and its colours are matched to the first segment's hand-over frame (not to the previous segment's), so drift cannot
add up. Segment k uses seed + k.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..seeds import offset_seed
from .colour import match_colours

SegmentRunner = Callable[[Image.Image, int, int], np.ndarray]
"""Animates a picture with a seed as segment number k (from 0) and gives its (F, H, W, 3) uint8 frames."""


@dataclass(frozen=True)
class Extended:
    frames: np.ndarray
    seeds: list[int]


def extend(first: np.ndarray, seed: int, segments: int, run_segment: SegmentRunner) -> Extended:
    """`first` (the first segment's frames) continued by `segments - 1` more."""
    pieces, seeds = [first], [seed]
    hand_over = first[-1]
    for index in range(1, segments):
        seeds.append(offset_seed(seed, index))
        start = pieces[-1][-1]
        frames = run_segment(Image.fromarray(start), seeds[-1], index)
        pieces.append(match_colours(frames[1:], hand_over))
    return Extended(np.concatenate(pieces), seeds)
