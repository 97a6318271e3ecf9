"""Seeds: the range a seed takes, the one that means "draw one", and how a video's variations and segments
number theirs."""

from __future__ import annotations

import secrets

MAX_SEED = 2**32 - 1
RANDOM_SEED = -1
"""The seed that means "draw one" (like leaving it out); other negative seeds are refused."""


def draw_seed() -> int:
    return secrets.randbelow(MAX_SEED + 1)


def offset_seed(seed: int, offset: int) -> int:
    """The seed `offset` places after `seed` (a variation's, a segment's), wrapping past MAX_SEED."""
    return (seed + offset) % (MAX_SEED + 1)
