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
        uncovered.append(~hit)
    return np.stack(frames), np.stack(uncovered)


def _project(points: np.ndarray, angle: float, pivot: float, focal: float, width: int, height: int):
    """Pixel positions and depths of the points seen from the camera circled by `angle` around (0, 0, pivot)."""
    x = points[:, 0] + pivot * math.sin(angle)
    z = points[:, 2] - pivot + pivot * math.cos(angle)
    seen_x = math.cos(angle) * x - math.sin(angle) * z
    seen_z = math.sin(angle) * x + math.cos(angle) * z
    seen_z = np.maximum(seen_z, 1e-6)
    return focal * seen_x / seen_z + width / 2, focal * points[:, 1] / seen_z + height / 2, seen_z


def _splat(u, v, z, colours, width: int, height: int):
    """The nearest point's colour and depth per pixel: first each point's own pixel, then its neighbours' pixels
    for any pixel still empty (closing the one-pixel cracks that a slight magnification opens)."""
    image = torch.zeros(height * width, 3, dtype=torch.uint8)
    distance = torch.full((height * width,), torch.inf, dtype=torch.float64)
    hit = torch.zeros(height * width, dtype=torch.bool)
    u, v, z = torch.from_numpy(u), torch.from_numpy(v), torch.from_numpy(z)
    colours = torch.from_numpy(colours)
    footprints = [[(0.0, 0.0)], [(-0.5, -0.5), (0.5, -0.5), (-0.5, 0.5), (0.5, 0.5)]]
    for footprint in footprints:
        empty = ~hit
        for du, dv in footprint:
            col, row = torch.floor(u + du).long(), torch.floor(v + dv).long()
            inside = (col >= 0) & (col < width) & (row >= 0) & (row < height)
            index = (row * width + col)[inside]
            keep = empty[index]
            index, depth, colour = index[keep], z[inside][keep], colours[inside][keep]
            nearest = distance.scatter_reduce(0, index, depth, reduce="amin")
            wins = depth <= nearest[index]
            distance, image[index[wins]] = nearest, colour[wins]
            hit[index] = True
    return image.view(height, width, 3).numpy(), distance.view(height, width).numpy(), hit.view(height, width).numpy()


def _fill_from_background(image: np.ndarray, distance: np.ndarray, hit: np.ndarray) -> np.ndarray:
    """Fill the empty pixels of each row from the nearest filled pixel on its farther side; rows with nothing in
    them are then filled the same way column by column."""
    image, distance, hit = _fill_rows(image, distance, hit)
    image, _, _ = _fill_rows(image.transpose(1, 0, 2), distance.T, hit.T)
    return np.ascontiguousarray(image.transpose(1, 0, 2))


def _fill_rows(image: np.ndarray, distance: np.ndarray, hit: np.ndarray):
    height, width = hit.shape
    cols = np.broadcast_to(np.arange(width), (height, width))
    left = np.maximum.accumulate(np.where(hit, cols, -1), axis=1)
    right = np.minimum.accumulate(np.where(hit, cols, width)[:, ::-1], axis=1)[:, ::-1]
    has_left, has_right = left >= 0, right < width
    rows = np.arange(height)[:, None]
    left_distance = np.where(has_left, distance[rows, left.clip(0, width - 1)], -np.inf)
    right_distance = np.where(has_right, distance[rows, right.clip(0, width - 1)], -np.inf)
    source = np.where(left_distance >= right_distance, left, right).clip(0, width - 1)
    fill = ~hit & (has_left | has_right)
    image = np.where(fill[..., None], image[rows, source], image)
    distance = np.where(fill, distance[rows, source], distance)
    return image, distance, hit | fill
