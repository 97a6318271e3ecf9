"""The finishing stages on their own, measured in pixels: loops, colour matching of chained segments, ffmpeg's
motion-compensated interpolation of a moving square, and the shape the options promise."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from svd.errors import InputError
from svd.finish.colour import channel_stats
from svd.finish.extend import extend
from svd.finish.interpolate import minterpolate
from svd.finish.loop import boomerang, crossfade
from svd.finish.options import (
    FinishOptions,
    check_finish,
    crossfade_length,
    finished_shape,
    parse_formats,
    upscaled_size,
)


def moving_square(count: int, step: float = 6.0, size: tuple[int, int] = (128, 72)) -> np.ndarray:
    """A bright square crossing a textured background at constant speed."""
    width, height = size
    y, x = np.mgrid[0:height, 0:width]
    background = (60 + 20 * np.sin(x / 5.0) + 20 * np.cos(y / 7.0)).astype(np.uint8)
    frames = np.repeat(np.repeat(background[None, :, :, None], count, 0), 3, 3).copy()
    for index in range(count):
        left = round(10 + step * index)
        frames[index, 24:44, left : left + 20] = 230
    return frames


def square_centre(frame: np.ndarray) -> float:
    bright = frame[..., 0] > 150
    return float(np.nonzero(bright)[1].mean())


def test_boomerang_frame_k_equals_frame_2f_minus_2_minus_k():
    frames = moving_square(7)
    looped = boomerang(frames)
    count = len(frames)
    assert len(looped) == 2 * count - 2
    for k in range(count, 2 * count - 2):
        assert np.array_equal(looped[k], frames[2 * count - 2 - k])
    assert np.array_equal(looped[:count], frames)


def test_crossfade_ends_close_to_where_it_starts():
    frames = moving_square(25, step=3.0)
    fps = 8
    looped = crossfade(frames, fps)
    overlap = crossfade_length(25, fps)
    assert len(looped) == 25 - overlap
    wrap = np.abs(looped[-1].astype(int) - looped[0].astype(int)).mean()
    ordinary = np.mean([np.abs(frames[i + 1].astype(int) - frames[i].astype(int)).mean() for i in range(24)])
    plain_jump = np.abs(frames[-1].astype(int) - frames[0].astype(int)).mean()
    assert wrap < 2 * ordinary < plain_jump  # the wrap is like one ordinary step, not the jump of the plain clip


@pytest.mark.parametrize("factor", [2, 3, 4])
def test_minterpolate_puts_the_square_between_its_neighbours(factor):
    frames = moving_square(6)
    out = minterpolate(frames, factor, fps=6)
    assert len(out) == (len(frames) - 1) * factor + 1
    for index, frame in enumerate(frames):
        assert np.array_equal(out[index * factor], frame)
    for index in range(len(frames) - 1):
        start, end = square_centre(frames[index]), square_centre(frames[index + 1])
        for step in range(1, factor):
            expected = start + (end - start) * step / factor
            assert abs(square_centre(out[index * factor + step]) - expected) <= 2.0


def test_extended_segments_start_from_the_last_frame_and_keep_the_first_colours():
    """A fake model whose every segment warms up as it goes (the known drift of chaining): without matching, the
    fourth segment ends far off; with it, every segment stays within a few levels of the hand-over frame."""
    first = moving_square(8)
    starts: list[np.ndarray] = []
    seeds: list[int] = []

    def drifting_segment(picture: Image.Image, seed: int, index: int) -> np.ndarray:
        start = np.asarray(picture)
        starts.append(start)
        seeds.append(seed)
        gains = np.linspace(1.0, 1.25, 8)[:, None, None, None] * np.array([1.0, 0.9, 0.8])
        return np.clip(start[None].astype(np.float32) * gains, 0, 255).astype(np.uint8)

    extended = extend(first, 41, 4, drifting_segment)
    assert extended.seeds == [41, 42, 43, 44] and seeds == [42, 43, 44]
    assert len(extended.frames) == 8 + 3 * 7
    assert np.array_equal(starts[0], first[-1])
    for segment, start in enumerate(starts[1:], start=1):
        assert np.array_equal(start, extended.frames[8 + 7 * segment - 1])  # each starts from the one before's end
    reference, _ = channel_stats(first[-1:])
    means, _ = channel_stats(extended.frames[8:])
    assert np.abs(means - reference).max() < 2.0
    unmatched = first[-1]
    for _ in range(3):
        unmatched = drifting_segment(Image.fromarray(unmatched), 0, 0)[-1]
    assert np.abs(channel_stats(unmatched[None])[0] - reference).max() > 20


def test_options_are_checked_and_the_shape_is_promised():
    options = check_finish(FinishOptions(interpolate=3, loop="boomerang", extend=2, upscale="1080p", formats=("gif",)))
    assert options.formats == ("mp4", "gif")
    shape = finished_shape(25, 6, 1024, 576, options)
    frames = ((25 + 24) - 1) * 3 + 1
    assert (shape.num_frames, shape.fps, shape.width, shape.height) == (2 * frames - 2, 18, 1920, 1080)
    assert upscaled_size(576, 1024, "4k") == (2160, 3840)
    assert upscaled_size(768, 768, "1080p") == (1080, 1080)
    assert upscaled_size(896, 640, "1080p") == (1512, 1080)
    assert upscaled_size(512, 288, "2") == (1024, 576)
    assert parse_formats(" WebM, gif ,mp4") == ("mp4", "webm", "gif")
    for bad, named in [
        (FinishOptions(interpolate=5), "x5"),
        (FinishOptions(upscale="8"), "'8'"),
        (FinishOptions(loop="pingpong"), "pingpong"),
        (FinishOptions(extend=5), "extend 5"),
        (FinishOptions(formats=("avi",)), "avi"),
    ]:
        with pytest.raises(InputError, match=named):
            check_finish(bad)
