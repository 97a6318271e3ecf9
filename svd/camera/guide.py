"""The guide video: the picture seen along the requested camera move, frame by frame, with no holes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from .moves import check_move
from .orbit import orbit_frames
from .paths import camera_path
from .warp import warp_along_path


@dataclass(frozen=True)
class Guide:
    frames: np.ndarray
    """(frames, height, width, 3) uint8; frame 0 is the picture."""
    uncovered: np.ndarray
    """(frames, height, width) bool: the areas the move uncovers, which the guide fills by extending what is
    beside them, so the model has to invent them."""


def render_guide(
    picture: Image.Image,
    move: str,
    num_frames: int,
    amount: float = 1.0,
    seed: int = 0,
    disparity: np.ndarray | None = None,
) -> Guide:
    """The guide of `move` for `picture` (already at the video's size). An orbit needs the picture's `disparity`
    (relative, 1 nearest); the other moves are exact 2D warps."""
    camera = check_move(move)
    pixels = np.array(picture.convert("RGB"))
    path = camera_path(camera.name, num_frames, amount, seed)
    if camera.needs_depth:
        if disparity is None or disparity.shape != pixels.shape[:2]:
            raise ValueError(f"{camera.name} needs a disparity map of the picture's size {pixels.shape[:2]}")
        frames, uncovered = orbit_frames(pixels, disparity, path.orbit)
    else:
        frames, uncovered = warp_along_path(pixels, path)
    return Guide(frames, uncovered)
