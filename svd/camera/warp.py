"""Camera turns and zooms as exact 2D warps of the picture (a rotating camera sees a homography of its picture).

Areas the move uncovers are filled by extending the picture's edge, and reported as a mask.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from .paths import CameraPath

HORIZONTAL_FOV_DEGREES = 50.0
"""The field of view assumed for the picture; it sets how many pixels a degree of turn moves the scene."""


def focal_length(width: int) -> float:
    return (width / 2) / math.tan(math.radians(HORIZONTAL_FOV_DEGREES) / 2)


def rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """The camera's orientation (x right, y down, z forward) after turning by these angles in degrees."""
    a, b, c = (math.radians(value) for value in (yaw, pitch, roll))
    turn_right = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    turn_up = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    turn_clockwise = np.array([[math.cos(c), -math.sin(c), 0], [math.sin(c), math.cos(c), 0], [0, 0, 1]])
    return turn_right @ turn_up @ turn_clockwise


def source_from_target(width: int, height: int, yaw: float, pitch: float, roll: float, zoom: float) -> np.ndarray:
    """The homography from a pixel of the turned, zoomed camera's frame to the picture's pixel that it sees."""
    focal = focal_length(width)
    intrinsics = np.array([[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1]])
    zoomed = np.array([[focal * zoom, 0, width / 2], [0, focal * zoom, height / 2], [0, 0, 1]])
    return intrinsics @ rotation(yaw, pitch, roll) @ np.linalg.inv(zoomed)


def warp_along_path(picture: np.ndarray, path: CameraPath) -> tuple[np.ndarray, np.ndarray]:
    """Frames of `picture` (H, W, 3 uint8) seen along `path` (its turns and zoom), and the uncovered mask per frame."""
    height, width = picture.shape[:2]
    source = torch.from_numpy(picture).permute(2, 0, 1)[None].float()
    rows, cols = torch.meshgrid(torch.arange(height) + 0.5, torch.arange(width) + 0.5, indexing="ij")
    targets = torch.stack([cols, rows, torch.ones_like(cols)], dim=-1)
    to_grid = np.array([[2 / width, 0, -1], [0, 2 / height, -1], [0, 0, 1]])
    """From pixel coordinates to `grid_sample`'s, in which the picture spans -1 to 1."""
    frames, uncovered = [], []
    for i in range(path.num_frames):
        matrix = source_from_target(width, height, path.yaw[i], path.pitch[i], path.roll[i], path.zoom[i])
        if np.allclose(matrix, np.eye(3)):
            frames.append(picture.copy())
            uncovered.append(np.zeros((height, width), dtype=bool))
            continue
        mapped = targets @ torch.from_numpy(to_grid @ matrix).float().T
        grid = mapped[..., :2] / mapped[..., 2:]
        outside = (grid.abs() > 1).any(dim=-1)
        seen = F.grid_sample(source, grid[None], mode="bicubic", padding_mode="border", align_corners=False)
        frames.append(seen[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy())
        uncovered.append(outside.numpy())
    return np.stack(frames), np.stack(uncovered)
