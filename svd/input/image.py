"""Reading the input picture: validate it, apply its orientation, and turn any mode into plain sRGB.

Every rejection is an `InputError` with one line that names the file, the problem and what to do.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from ..errors import InputError, first_line

MIN_SIDE = 64
MAX_PIXELS = 89_478_485
"""Pillow's own decompression-bomb limit (about 89 megapixels); larger pictures are refused before decoding."""

READABLE_FORMATS = "PNG, JPEG, WebP, GIF, BMP or TIFF"
BACKGROUND = (255, 255, 255)


@dataclass(frozen=True)
class InputImage:
    """A validated input picture, upright and in RGB, with the file it came from (its bytes, format and hash)."""

    image: Image.Image
    name: str
    sha256: str
    data: bytes = field(default=b"", repr=False)
    format: str | None = None
    """Pillow's name for the file's format: PNG, JPEG, WEBP, ..."""

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size


def load_image(source: str | Path | bytes, name: str | None = None) -> InputImage:
    """Read a picture from a path or bytes and validate it; raise `InputError` with a one-line reason if unusable."""
    if isinstance(source, bytes):
        data, name = source, name or "picture"
    else:
        path = Path(source)
        name = name or path.name
        try:
            data = path.read_bytes()
        except IsADirectoryError:
            raise InputError(f"{name} is a folder, not a picture: give a picture file") from None
        except OSError as error:
            raise InputError(f"cannot read {name} ({error.strerror or error}): check the path") from None
    if not data:
        raise InputError(f"{name} is empty (0 bytes): choose a picture file ({READABLE_FORMATS})")

    limit = f"the {MAX_PIXELS / 1e6:.0f} megapixel limit: scale it down"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the size is checked below, with a reason
        try:
            picture = Image.open(io.BytesIO(data))
        except UnidentifiedImageError:
            raise InputError(f"{name} is not a picture that can be read: use a {READABLE_FORMATS} file") from None
        except Image.DecompressionBombError:
            raise InputError(f"{name} is more than twice {limit}") from None
        width, height = picture.size
        if width * height > MAX_PIXELS:
            raise InputError(f"{name} is {width}x{height} ({width * height / 1e6:.0f} megapixels), over {limit}")
        try:
            picture.seek(0)
            picture.load()
        except (OSError, SyntaxError, ValueError, EOFError) as error:
            raise InputError(
                f"{name} is truncated or corrupt ({first_line(error)}): export it again or choose another file"
            ) from None

    file_format = picture.format
    picture = ImageOps.exif_transpose(picture)
    if min(picture.size) < MIN_SIDE:
        raise InputError(
            f"{name} is {picture.width}x{picture.height}, too small: use a picture at least {MIN_SIDE} px on each side"
        )
    return InputImage(
        image=to_srgb(picture), name=name, sha256=hashlib.sha256(data).hexdigest(), data=data, format=file_format
    )


def to_srgb(picture: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB: transparency onto white, 16-bit scaled, colour profiles applied."""
    if picture.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return _high_depth_grey_to_rgb(picture)
    icc_profile = picture.info.get("icc_profile")
    if picture.mode == "P":
        picture = picture.convert("RGBA" if "transparency" in picture.info else "RGB")
    if picture.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = picture.convert("RGBA")
        flat = Image.new("RGBA", rgba.size, (*BACKGROUND, 255))
        picture = Image.alpha_composite(flat, rgba).convert("RGB")
    if icc_profile and picture.mode in ("RGB", "CMYK"):
        picture = _apply_icc_profile(picture, icc_profile)
    return picture.convert("RGB") if picture.mode != "RGB" else picture


def _high_depth_grey_to_rgb(picture: Image.Image) -> Image.Image:
    values = np.asarray(picture, dtype=np.float64)
    if picture.mode == "F":
        scale = 255.0 if values.max(initial=0.0) <= 1.0 else 1.0
    else:
        scale = 255.0 / 65535.0 if values.max(initial=0.0) > 255 else 1.0
    grey = np.clip(np.rint(values * scale), 0, 255).astype(np.uint8)
    return Image.fromarray(grey).convert("RGB")


def _apply_icc_profile(picture: Image.Image, icc_profile: bytes) -> Image.Image:
    """Convert from the embedded colour profile (Display P3, Adobe RGB, CMYK...) to sRGB; keep pixels if it fails."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        converted = ImageCms.profileToProfile(picture, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError):
        return picture
    return converted if converted is not None else picture
