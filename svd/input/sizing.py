"""Choosing the generation size for a picture, and fitting the picture to it.

SVD was trained at 1024x576. Other aspects work best at about the same pixel count with sides divisible by 64, so
each model has a set of aspect buckets: shapes in units of its `size_multiple` (64 for SVD, 16 for the tiny model).
"""

from __future__ import annotations

import math
import re
from typing import Literal

from PIL import Image, ImageOps

from ..errors import InputError
from ..models.entries import ModelDefaults

ResizeMode = Literal["crop", "pad", "stretch"]
RESIZE_MODES: tuple[ResizeMode, ...] = ("crop", "pad", "stretch")
PAD_COLOUR = (0, 0, 0)

MAX_PIXELS_FACTOR = 1.6
MAX_SIDE_FACTOR = 2
"""The largest size a model is asked for: 1.6x its trained pixel count (for SVD 943,718 px, so 1280x720 fits and
1024x1024 does not) and twice its trained long side (2048 px for SVD). Beyond that SVD's frames fall apart and the
VAE decode's memory, which grows with the pixel count, leaves a 24 GB card."""

BUCKET_SHAPES: tuple[tuple[int, int], ...] = ((16, 9), (9, 16), (12, 12), (14, 10), (10, 14), (15, 10), (10, 15))
"""Width and height in units of the model's size multiple: 1024x576, 576x1024, 768x768, 896x640, ... for SVD."""
ASPECT_NAMES = ("16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3")
"""The names people know the bucket shapes by, in the same order (4:3 and 3:2 are the nearest common names)."""


def buckets(defaults: ModelDefaults) -> list[tuple[int, int]]:
    """The model's aspect buckets at about its native pixel count (16x9 units is the native size of SVD)."""
    unit = math.sqrt(defaults.width * defaults.height / (16 * 9))
    return [snap_size((columns * unit, rows * unit), defaults) for columns, rows in BUCKET_SHAPES]


def aspect_size(name: str, defaults: ModelDefaults) -> tuple[int, int]:
    """The model's bucket for an aspect name (`16:9`, `9:16`, `1:1`, ...)."""
    sizes = dict(zip(ASPECT_NAMES, buckets(defaults), strict=True))
    if name.strip() not in sizes:
        raise InputError(f"aspect '{name[:20]}' is not known", f"use one of {', '.join(ASPECT_NAMES)}")
    return sizes[name.strip()]


def nearest_bucket(picture_size: tuple[int, int], defaults: ModelDefaults) -> tuple[int, int]:
    """The bucket whose aspect ratio is closest to the picture's (compared on a log scale)."""
    aspect = math.log(picture_size[0] / picture_size[1])
    return min(buckets(defaults), key=lambda size: abs(math.log(size[0] / size[1]) - aspect))


def snap_size(size: tuple[float, float], defaults: ModelDefaults) -> tuple[int, int]:
    """Round each side to the nearest multiple the model accepts (at least one multiple)."""
    multiple = defaults.size_multiple
    return tuple(max(multiple, round(side / multiple) * multiple) for side in size)  # type: ignore[return-value]


def parse_size(text: str) -> tuple[int, int] | None:
    """`auto` gives None; `WxH` gives (W, H). Anything else is an `InputError`."""
    text = text.strip().lower()
    if text in ("", "auto"):
        return None
    match = re.fullmatch(r"(\d{1,6})\s*[x×*]\s*(\d{1,6})", text)
    if not match or min(int(match[1]), int(match[2])) == 0:
        raise InputError(f"size '{text[:40]}' is not understood", "use auto or WIDTHxHEIGHT, for example 1024x576")
    return int(match[1]), int(match[2])


def choose_size(
    picture_size: tuple[int, int], defaults: ModelDefaults, requested: tuple[int, int] | None = None
) -> tuple[int, int]:
    """The generation size: the nearest bucket for `auto` (None), else the requested size snapped and checked."""
    if requested is None:
        return nearest_bucket(picture_size, defaults)
    size = snap_size(requested, defaults)
    check_size(requested, size, defaults)
    return size


def size_limits(defaults: ModelDefaults) -> tuple[int, int]:
    """The longest side and the most pixels the model is asked for (see `MAX_PIXELS_FACTOR`)."""
    native = defaults.width * defaults.height
    return MAX_SIDE_FACTOR * max(defaults.width, defaults.height), int(MAX_PIXELS_FACTOR * native)


def check_size(requested: tuple[int, int], snapped: tuple[int, int], defaults: ModelDefaults) -> None:
    """Refuse a size past the model's limits, naming it as it was asked for."""
    max_side, max_pixels = size_limits(defaults)
    if max(snapped) > max_side or snapped[0] * snapped[1] > max_pixels:
        raise InputError(
            f"size {requested[0]}x{requested[1]} is too large",
            f"use auto or at most {max_side} px a side and {max_pixels:,} pixels "
            f"({MAX_PIXELS_FACTOR:g}x the model's {defaults.width}x{defaults.height}), for example "
            f"{defaults.width}x{defaults.height}",
        )


def fit_image(picture: Image.Image, size: tuple[int, int], mode: ResizeMode = "crop") -> Image.Image:
    """Fit the picture to `size`: `crop` covers then centre-crops, `pad` fits then letterboxes, `stretch` distorts."""
    if picture.size == size:
        return picture
    if mode == "crop":
        return ImageOps.fit(picture, size, method=Image.Resampling.LANCZOS)
    if mode == "pad":
        return ImageOps.pad(picture, size, method=Image.Resampling.LANCZOS, color=PAD_COLOUR)
    if mode == "stretch":
        return picture.resize(size, Image.Resampling.LANCZOS)
    raise InputError(f"resize mode '{mode}' is not known: use one of {', '.join(RESIZE_MODES)}")
