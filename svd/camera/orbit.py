"""Orbit: the picture lifted to a point cloud by its depth, seen from a camera that circles the subject.

Near things move across the frame against far ones (parallax), so an orbit needs depth, unlike a turn. Each frame
is rendered by splatting the points with a depth test; cracks of a pixel are closed by the points' neighbours, and
the areas the move uncovers are filled from their farther side (the background they belong to), row by row.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .warp import focal_length

DEPTH_RANGE = 3.0
"""The farthest point of the picture is this many times farther than the nearest: depth models give relative
depth only, and a bounded range keeps the parallax plausible."""


def depth_from_disparity(disparity: np.ndarray) -> np.ndarray:
    """Distances from 1 (disparity 1, nearest) to `DEPTH_RANGE` (disparity 0, farthest)."""
    return 1.0 / (1.0 / DEPTH_RANGE + disparity.astype(np.float64) * (1.0 - 1.0 / DEPTH_RANGE))


def subject_distance(depth: np.ndarray) -> float:
    """The distance the camera circles around: the median depth of the middle of the picture."""
    height, width = depth.shape
    middle = depth[height // 3 : height - height // 3, width // 3 : width - width // 3]
    return float(np.median(middle))


def orbit_frames(picture: np.ndarray, disparity: np.ndarray, angles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Frames of `picture` (H, W, 3 uint8) from a camera circled by `angles` (degrees, positive to the left) around
    the subject, given its relative `disparity` (H, W, 1 nearest, 0 farthest); and the uncovered mask per frame."""
    height, width = picture.shape[:2]
    depth = depth_from_disparity(disparity)
    pivot = subject_distance(depth)
    focal = focal_length(width)
    rows, cols = np.meshgrid(np.arange(height) + 0.5, np.arange(width) + 0.5, indexing="ij")
    points = np.stack([(cols - width / 2) * depth / focal, (rows - height / 2) * depth / focal, depth], axis=-1)
    colours = picture.reshape(-1, 3)
    frames, uncovered = [], []
    for angle in angles:
        if angle == 0:
            frames.append(picture.copy())
            uncovered.append(np.zeros((height, width), dtype=bool))
            continue
        u, v, z = _project(points.reshape(-1, 3), math.radians(angle), pivot, focal, width, height)
        image, distance, hit = _splat(u, v, z, colours, width, height)
        frames.append(_fill_from_background(image, distance, hit))
        uncovered.append(~hit.numpy())
    return np.stack(frames), np.stack(uncovered)


def _project(points: np.ndarray, angle: float, pivot: float, focal: float, width: int, height: int):
    """Pixel positions and depths of the points seen from the camera circled by `angle` around (0, 0, pivot)."""
    x = points[:, 0] + pivot * math.sin(angle)
    z = points[:, 2] - pivot + pivot * math.cos(angle)
    seen_x = math.cos(angle) * x - math.sin(angle) * z
    seen_z = math.sin(angle) * x + math.cos(angle) * z
    seen_z = np.maximum(seen_z, 1e-6)
    return focal * seen_x / seen_z + width / 2, focal * points[:, 1] / seen_z + height / 2, seen_z


def _splat(u: np.ndarray, v: np.ndarray, z: np.ndarray, colours: np.ndarray, width: int, height: int):
    """The nearest point's colour and depth per pixel, and which pixels a point landed on."""
    col, row = torch.from_numpy(np.floor(u)).long(), torch.from_numpy(np.floor(v)).long()
    depth = torch.from_numpy(z)
    inside = (col >= 0) & (col < width) & (row >= 0) & (row < height)
    index = torch.where(inside, row * width + col, height * width)  # points outside land on a spare last slot
    distance = torch.full((height * width + 1,), torch.inf, dtype=depth.dtype)
    distance = distance.scatter_reduce(0, index, depth, reduce="amin")
    wins = inside & (depth <= distance[index])
    image = torch.zeros(height * width + 1, 3, dtype=torch.uint8)
    image[index[wins]] = torch.from_numpy(colours)[wins]
    distance = distance[:-1].view(height, width)
    return _close_cracks(image[:-1].view(height, width, 3), distance, torch.isfinite(distance))


NEIGHBOURS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]


def _close_cracks(image: torch.Tensor, distance: torch.Tensor, hit: torch.Tensor):
    """Give each empty pixel its nearest neighbour's colour and depth: this closes the one-pixel cracks that a
    slight magnification opens between splats (wider holes keep all but their edge empty)."""
    height, width = hit.shape
    padded_distance = torch.nn.functional.pad(distance, (1, 1, 1, 1), value=torch.inf)
    padded_image = torch.nn.functional.pad(image.permute(2, 0, 1), (1, 1, 1, 1)).permute(1, 2, 0)
    best_distance, best_image = distance.clone(), image.clone()
    for dy, dx in NEIGHBOURS:
        rows, cols = slice(1 + dy, 1 + dy + height), slice(1 + dx, 1 + dx + width)
        closer = ~hit & (padded_distance[rows, cols] < best_distance)
        best_distance = torch.where(closer, padded_distance[rows, cols], best_distance)
        best_image = torch.where(closer[..., None], padded_image[rows, cols], best_image)
    return best_image, best_distance, torch.isfinite(best_distance)


def _fill_from_background(image: torch.Tensor, distance: torch.Tensor, hit: torch.Tensor) -> np.ndarray:
    """Fill the empty pixels of each row from the nearest filled pixel on its farther side; rows with nothing in
    them are then filled the same way column by column."""
    image, distance, hit = _fill_rows(image, distance, hit)
    image, _, _ = _fill_rows(image.transpose(0, 1), distance.T, hit.T)
    return image.transpose(0, 1).contiguous().numpy()


def _fill_rows(image: torch.Tensor, distance: torch.Tensor, hit: torch.Tensor):
    height, width = hit.shape
    cols = torch.arange(width).expand(height, width)
    left = torch.where(hit, cols, -1).cummax(dim=1).values
    right = torch.where(hit, cols, width).flip(1).cummin(dim=1).values.flip(1)
    has_left, has_right = left >= 0, right < width
    left_distance = torch.where(has_left, distance.gather(1, left.clamp(0, width - 1)), -torch.inf)
    right_distance = torch.where(has_right, distance.gather(1, right.clamp(0, width - 1)), -torch.inf)
    source = torch.where(left_distance >= right_distance, left, right).clamp(0, width - 1)
    fill = ~hit & (has_left | has_right)
    filled_image = image.gather(1, source[..., None].expand(height, width, 3))
    image = torch.where(fill[..., None], filled_image, image)
    distance = torch.where(fill, distance.gather(1, source), distance)
    return image, distance, hit | fill
