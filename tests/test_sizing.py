"""Sizes: aspect buckets at the model's pixel count, snapping, and the three ways of fitting a picture."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from svd.errors import InputError
from svd.families.catalogue import CATALOGUE
from svd.families.svd.tiny import architecture_defaults
from svd.input.sizing import buckets, choose_size, fit_image, parse_size

SVD = CATALOGUE["svd-xt"].defaults
TINY_DEFAULTS = architecture_defaults("tiny")


def test_svd_buckets_are_the_published_ones():
    assert buckets(SVD) == [(1024, 576), (576, 1024), (768, 768), (896, 640), (640, 896), (960, 640), (640, 960)]
    for width, height in buckets(SVD):
        assert width % 64 == 0 and height % 64 == 0
        assert 0.9 < width * height / (1024 * 576) < 1.1


def test_tiny_buckets_scale_with_its_native_size():
    tiny = buckets(TINY_DEFAULTS)
    assert tiny[:3] == [(256, 144), (144, 256), (192, 192)]
    assert all(width % 16 == 0 and height % 16 == 0 for width, height in tiny)


@pytest.mark.parametrize(
    ("picture", "expected"),
    [
        ((1920, 1080), (1024, 576)),
        ((1080, 1920), (576, 1024)),
        ((3000, 3000), (768, 768)),
        ((4000, 3000), (896, 640)),
        ((3000, 4000), (640, 896)),
        ((6000, 4000), (960, 640)),
        ((4000, 6000), (640, 960)),
        ((3000, 1000), (1024, 576)),
    ],
)
def test_auto_picks_the_nearest_aspect(picture, expected):
    assert choose_size(picture, SVD) == expected


def test_forced_size_snaps_to_allowed_sides():
    assert choose_size((10, 10), SVD, (1000, 600)) == (1024, 576)
    assert choose_size((10, 10), SVD, (20, 20)) == (64, 64)
    assert choose_size((10, 10), TINY_DEFAULTS, (250, 150)) == (256, 144)


def test_parse_size():
    assert parse_size("auto") is None
    assert parse_size("1024x576") == (1024, 576)
    assert parse_size(" 768 X 768 ") == (768, 768)
    for bad in ("big", "1024", "0x576", "1024x"):
        with pytest.raises(InputError):
            parse_size(bad)


def _picture(size):
    return Image.fromarray(np.full((size[1], size[0], 3), 200, np.uint8))


def test_crop_covers_the_whole_frame():
    fitted = np.asarray(fit_image(_picture((400, 400)), (256, 144), "crop"))
    assert fitted.shape == (144, 256, 3) and fitted.min() == 200


def test_pad_keeps_the_whole_picture_and_letterboxes():
    fitted = np.asarray(fit_image(_picture((400, 400)), (256, 144), "pad"))
    assert fitted.shape == (144, 256, 3)
    assert fitted[:, :50].max() == 0 and fitted[:, -50:].max() == 0  # black bars left and right
    assert fitted[:, 100:156].min() >= 199


def test_stretch_fills_without_bars():
    fitted = np.asarray(fit_image(_picture((400, 400)), (256, 144), "stretch"))
    assert fitted.shape == (144, 256, 3) and fitted.min() >= 199


def test_unknown_resize_mode_is_refused():
    with pytest.raises(InputError, match="resize mode 'zoom'"):
        fit_image(_picture((400, 400)), (256, 144), "zoom")  # type: ignore[arg-type]
