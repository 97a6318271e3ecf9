"""The guide videos of the camera moves: their geometry measured in their pixels (phase correlation and marker
centroids), against the pinhole camera the moves describe, and their determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from svd.camera.guide import render_guide
from svd.camera.moves import MOVES, NO_CAMERA
from svd.camera.paths import PAN_DEGREES, SHAKE_DEGREES, TILT_DEGREES, ZOOM_FACTOR
from svd.camera.warp import HORIZONTAL_FOV_DEGREES

WIDTH, HEIGHT, FRAMES = 320, 176, 9
FOCAL = (WIDTH / 2) / math.tan(math.radians(HORIZONTAL_FOV_DEGREES) / 2)
"""The pinhole focal length in pixels that the stated field of view gives."""
DIRECTIONS = {"pan-left": (1, 0), "pan-right": (-1, 0), "tilt-up": (0, 1), "tilt-down": (0, -1)}
"""Which way the scene slides across the frame (x right, y down) when the camera turns."""


def texture(seed: int = 0) -> Image.Image:
    """Smooth random texture with no dark pixels, so any unfilled (black) pixel in a guide shows."""
    coarse = np.random.default_rng(seed).uniform(40, 230, (HEIGHT // 4, WIDTH // 4, 3)).astype(np.uint8)
    return Image.fromarray(coarse).resize((WIDTH, HEIGHT), Image.Resampling.BILINEAR)


def shift_between(first: np.ndarray, second: np.ndarray) -> tuple[float, float]:
    """How far the content of `first` moved in `second` (x, y), by phase correlation with sub-pixel peak fitting."""
    a, b = (np.asarray(image, float).mean(axis=-1) for image in (first, second))
    window = np.outer(np.hanning(a.shape[0]), np.hanning(a.shape[1]))
    cross = np.fft.fft2((b - b.mean()) * window) * np.conj(np.fft.fft2((a - a.mean()) * window))
    surface = np.fft.ifft2(cross / (np.abs(cross) + 1e-9)).real
    peak = np.unravel_index(surface.argmax(), surface.shape)
    offsets = []
    for axis in (1, 0):
        size = surface.shape[axis]
        at = peak[axis]
        before = surface[(peak[0], (at - 1) % size) if axis else ((at - 1) % size, peak[1])]
        after = surface[(peak[0], (at + 1) % size) if axis else ((at + 1) % size, peak[1])]
        centre = surface[peak]
        fraction = 0.5 * (before - after) / (before - 2 * centre + after)
        offset = at + fraction
        offsets.append(offset - size if offset > size / 2 else offset)
    return offsets[0], offsets[1]


def markers() -> tuple[Image.Image, dict[str, tuple[float, float]]]:
    """A grey picture with a red and a blue square at known offsets from the centre."""
    pixels = np.full((HEIGHT, WIDTH, 3), 128, np.uint8)
    offsets = {"red": (40.0, 20.0), "blue": (-45.0, -25.0)}
    for (x, y), colour in zip(offsets.values(), ([255, 0, 0], [0, 0, 255]), strict=True):
        cx, cy = int(WIDTH / 2 + x), int(HEIGHT / 2 + y)
        pixels[cy - 4 : cy + 4, cx - 4 : cx + 4] = colour
    return Image.fromarray(pixels), {name: (x + 0.0, y + 0.0) for name, (x, y) in offsets.items()}


def marker_offset(frame: np.ndarray, name: str) -> tuple[float, float]:
    channel = {"red": 0, "blue": 2}[name]
    strength = np.clip(frame[..., channel].astype(float) - frame.astype(float).mean(axis=-1) - 30, 0, None)
    rows, cols = np.indices(strength.shape)
    total = strength.sum()
    x = (cols + 0.5).ravel() @ strength.ravel() / total
    y = (rows + 0.5).ravel() @ strength.ravel() / total
    return x - WIDTH / 2, y - HEIGHT / 2


@pytest.mark.parametrize("move", DIRECTIONS)
def test_pan_and_tilt_slide_the_scene_the_stated_way_at_a_steady_pace(move):
    guide = render_guide(texture(), move, FRAMES, amount=1.0)
    degrees = PAN_DEGREES if move.startswith("pan") else TILT_DEGREES
    sign_x, sign_y = DIRECTIONS[move]
    for index in range(1, FRAMES):
        expected = FOCAL * math.tan(math.radians(degrees * index / (FRAMES - 1)))
        dx, dy = shift_between(guide.frames[0], guide.frames[index])
        assert dx == pytest.approx(sign_x * expected, abs=1.0) and dy == pytest.approx(sign_y * expected, abs=1.0)


def test_amount_scales_how_far_the_camera_turns():
    """A marker lands where a pinhole camera turned right by twice the usual angle sees it."""
    picture, offsets = markers()
    guide = render_guide(picture, "pan-right", FRAMES, amount=2.0)
    turn = math.radians(2 * PAN_DEGREES)
    for name, (x, y) in offsets.items():
        depth = x / FOCAL * math.sin(turn) + math.cos(turn)  # the marker's distance along the turned camera's axis
        seen = (FOCAL * (x / FOCAL * math.cos(turn) - math.sin(turn)) / depth, y / depth)
        assert marker_offset(guide.frames[-1], name) == pytest.approx(seen, abs=1.0)


def test_uncovered_area_is_the_strip_the_scene_slid_away_from_and_has_no_holes():
    guide = render_guide(texture(), "pan-left", FRAMES)
    strip = WIDTH / 2 + FOCAL * math.tan(math.radians(PAN_DEGREES - HORIZONTAL_FOV_DEGREES / 2))  # the left edge's ray
    middle_row = guide.uncovered[-1][HEIGHT // 2]
    assert not guide.uncovered[0].any()
    assert middle_row[: int(strip) - 1].all() and not middle_row[int(strip) + 2 :].any()  # a strip at the left edge
    assert guide.frames.min() > 30  # filled by extending the edge: no black holes


@pytest.mark.parametrize(("move", "scale"), [("zoom-in", ZOOM_FACTOR), ("zoom-out", 1 / ZOOM_FACTOR)])
def test_zoom_scales_the_content_about_the_centre(move, scale):
    picture, offsets = markers()
    guide = render_guide(picture, move, FRAMES)
    for name, (x, y) in offsets.items():
        assert marker_offset(guide.frames[0], name) == pytest.approx((x, y), abs=0.5)
        assert marker_offset(guide.frames[-1], name) == pytest.approx((x * scale, y * scale), abs=1.0)
    assert guide.uncovered[-1].any() == (move == "zoom-out")  # zooming out shows what lay outside the picture


def test_locked_repeats_the_picture():
    picture = texture()
    guide = render_guide(picture, "locked", FRAMES)
    assert all(np.array_equal(frame, np.asarray(picture)) for frame in guide.frames)
    assert not guide.uncovered.any()


def test_shake_stays_within_its_bound_is_smooth_and_comes_back():
    guide = render_guide(texture(), "shake", 25, seed=5)
    shifts = np.array([shift_between(guide.frames[0], frame) for frame in guide.frames])
    bound = FOCAL * math.tan(math.radians(SHAKE_DEGREES))
    assert np.abs(shifts).max() <= bound + 1.0  # roll adds a little at the centre, well under a pixel here
    assert np.abs(shifts).max() > 1.0  # it does shake
    assert np.abs(np.diff(shifts, axis=0)).max() < bound / 2  # smooth: no jumps between frames
    assert np.abs(guide.frames[-1].astype(int) - guide.frames[0]).mean() < 1  # and ends where it began


def test_same_seed_same_guide_other_seed_other_shake():
    picture, disparity = texture(), np.tile(np.linspace(1, 0, WIDTH, dtype=np.float32), (HEIGHT, 1))
    for move in MOVES:
        if move == NO_CAMERA:
            continue
        first, again = (render_guide(picture, move, 5, seed=3, disparity=disparity) for _ in range(2))
        assert np.array_equal(first.frames, again.frames) and np.array_equal(first.uncovered, again.uncovered)
    other = render_guide(picture, "shake", 5, seed=4)
    assert not np.array_equal(other.frames, render_guide(picture, "shake", 5, seed=3).frames)


def halves_disparity() -> np.ndarray:
    """Near (1) in the left half, far (0) in the right half."""
    disparity = np.zeros((HEIGHT, WIDTH), np.float32)
    disparity[:, : WIDTH // 2] = 1.0
    return disparity


@pytest.mark.parametrize("move", ["orbit-left", "orbit-right"])
def test_orbit_moves_near_content_against_far_content(move):
    guide = render_guide(texture(), move, FRAMES, amount=0.5, disparity=halves_disparity())
    first, last = guide.frames[0], guide.frames[-1]
    rows = slice(30, HEIGHT - 30)
    near = shift_between(first[rows, 40:150], last[rows, 40:150])
    far = shift_between(first[rows, 190:300], last[rows, 190:300])
    sign = 1 if move == "orbit-left" else -1
    assert sign * near[0] > 10 and sign * near[0] > sign * far[0] + 10  # near slides the camera's opposite way, more
    assert abs(near[1]) < 1 and abs(far[1]) < 1
    assert guide.frames.min() > 30 and guide.uncovered[-1].any() and not guide.uncovered[0].any()


def test_orbit_without_depth_is_refused():
    with pytest.raises(ValueError, match="disparity"):
        render_guide(texture(), "orbit-left", FRAMES)
