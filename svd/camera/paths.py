"""Where the camera points in each frame of a move: its turn, zoom and orbit angle, frame by frame.

Every path starts at the picture itself (frame 0 is the identity), because SVD conditions on the picture as the
first frame. Pan, tilt, zoom and orbit move at a constant speed; shake is a smooth random loop that ends where it
started.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PAN_DEGREES = 8.0
TILT_DEGREES = 5.0
ZOOM_FACTOR = 1.3
ORBIT_DEGREES = 8.0
SHAKE_DEGREES = 1.0
"""The largest turn of a shake, left-right and up-down; its roll is half of it."""
SHAKE_CYCLES = (1, 2, 3)
"""Whole cycles per clip of the shake's components, so it comes back to the start; slower ones are larger."""


@dataclass(frozen=True)
class CameraPath:
    """Per frame, in degrees: `yaw` (positive turns right), `pitch` (positive turns up), `roll` (positive turns
    clockwise), `orbit` (positive circles left around the subject); `zoom` is the magnification (1 is none)."""

    yaw: np.ndarray
    pitch: np.ndarray
    roll: np.ndarray
    zoom: np.ndarray
    orbit: np.ndarray

    @property
    def num_frames(self) -> int:
        return len(self.yaw)


def camera_path(move: str, num_frames: int, amount: float, seed: int) -> CameraPath:
    """The path of `move` over `num_frames` frames; `amount` scales how far it goes, `seed` draws a shake."""
    t = np.linspace(0.0, 1.0, num_frames)
    still = np.zeros(num_frames)
    turns = {"yaw": still, "pitch": still, "roll": still, "orbit": still}
    zoom = np.ones(num_frames)
    if move in ("pan-left", "pan-right"):
        turns["yaw"] = (-1 if move == "pan-left" else 1) * PAN_DEGREES * amount * t
    elif move in ("tilt-up", "tilt-down"):
        turns["pitch"] = (1 if move == "tilt-up" else -1) * TILT_DEGREES * amount * t
    elif move in ("zoom-in", "zoom-out"):
        zoom = (ZOOM_FACTOR ** (1 if move == "zoom-in" else -1)) ** (amount * t)
    elif move in ("orbit-left", "orbit-right"):
        turns["orbit"] = (1 if move == "orbit-left" else -1) * ORBIT_DEGREES * amount * t
    elif move == "shake":
        rng = np.random.default_rng(seed)
        bounds = {"yaw": SHAKE_DEGREES, "pitch": SHAKE_DEGREES, "roll": SHAKE_DEGREES / 2}
        turns.update({axis: bound * amount * _smooth_loop(rng, t) for axis, bound in bounds.items()})
    elif move != "locked":
        raise ValueError(f"no camera path for {move!r}")
    return CameraPath(zoom=zoom, **turns)


def _smooth_loop(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """A random smooth curve over t in [0, 1] that is 0 at both ends and peaks at exactly 1 in size."""
    cycles = np.array(SHAKE_CYCLES)
    sizes = rng.uniform(0.5, 1.0, len(cycles)) / cycles
    phases = rng.uniform(0.0, 2 * np.pi, len(cycles))
    waves = sizes[:, None] * np.sin(2 * np.pi * cycles[:, None] * t[None, :] + phases[:, None])
    curve = waves.sum(axis=0) - (sizes * np.sin(phases)).sum()
    return curve / max(float(np.abs(curve).max()), 1e-9)
