"""Input pictures: real files of every awkward kind are accepted and normalised; bad ones are refused in one line."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from conftest import gradient, write_picture
from PIL import Image, ImageCms

from svd.errors import InputError
from svd.input.image import MAX_PIXELS, load_image


def refusal(path) -> str:
    with pytest.raises(InputError) as caught:
        load_image(path)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_empty_file_is_refused(tmp_path):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    assert "empty.png is empty" in refusal(empty)


def test_text_file_is_refused(tmp_path):
    text = tmp_path / "notes.jpg"
    text.write_text("this is not a picture\n" * 20)
    assert "notes.jpg is not a picture" in refusal(text)


def test_truncated_jpeg_is_refused(tmp_path):
    whole = write_picture(tmp_path / "whole.jpg", (640, 480), quality=95).read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(whole[: len(whole) // 2])
    assert "cut.jpg is truncated or corrupt" in refusal(cut)


def test_truncated_png_is_refused(tmp_path):
    whole = write_picture(tmp_path / "whole.png", (640, 480)).read_bytes()
    cut = tmp_path / "cut.png"
    cut.write_bytes(whole[: len(whole) // 3])
    assert "truncated or corrupt" in refusal(cut)


@pytest.mark.parametrize("side", [10_000, 20_000])
def test_decompression_bomb_is_refused_before_decoding(tmp_path, side):
    bomb = tmp_path / "bomb.png"
    Image.new("1", (side, side)).save(bomb)  # 100 or 400 megapixels in a few kilobytes
    assert bomb.stat().st_size < 200_000 and side * side > MAX_PIXELS
    message = refusal(bomb)
    assert "megapixel limit: scale it down" in message
    if side == 10_000:
        assert "10000x10000" in message


def test_tiny_picture_is_refused(tmp_path):
    small = write_picture(tmp_path / "small.png", (200, 40))
    assert "200x40, too small" in refusal(small)


def test_missing_file_and_folder_are_refused(tmp_path):
    assert "cannot read nowhere.png" in refusal(tmp_path / "nowhere.png")
    assert "is a folder" in refusal(tmp_path)


def test_rgb_png_loads_unchanged_with_its_hash(tmp_path):
    path = write_picture(tmp_path / "plain.png", (300, 200))
    loaded = load_image(path)
    assert loaded.image.mode == "RGB" and loaded.size == (300, 200)
    assert np.array_equal(np.asarray(loaded.image), gradient((300, 200)))
    assert loaded.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_exif_orientation_is_applied(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways; a viewer turns it 90 degrees clockwise
    path = tmp_path / "phone.jpg"
    Image.fromarray(gradient((320, 180))).save(path, exif=exif, quality=95)
    loaded = load_image(path)
    assert loaded.size == (180, 320)
    pixels = np.asarray(loaded.image).astype(int)
    # The stored top-left corner (blue marker) ends up top-right after a clockwise turn.
    assert pixels[5, -5, 2] > 200 and pixels[5, 5, 2] < 60


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_transparency_is_flattened_onto_white(tmp_path, mode):
    picture = Image.new(mode, (100, 80), (0,) * len(mode))  # fully transparent black
    picture.paste(Image.new(mode, (50, 80), (0,) * (len(mode) - 1) + (255,)), (0, 0))  # left half opaque black
    path = tmp_path / f"{mode}.png"
    picture.save(path)
    pixels = np.asarray(load_image(path).image)
    assert pixels[:, :50].max() == 0
    assert pixels[:, 50:].min() == 255


def test_palette_with_transparency_is_flattened(tmp_path):
    picture = Image.new("P", (100, 80), 0)
    picture.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    picture.paste(1, (0, 0, 50, 80))
    path = tmp_path / "palette.png"
    picture.save(path, transparency=0)
    pixels = np.asarray(load_image(path).image)
    assert tuple(pixels[10, 10]) == (0, 0, 255)
    assert tuple(pixels[10, 90]) == (255, 255, 255)


def test_greyscale_and_cmyk_become_rgb(tmp_path):
    grey = tmp_path / "grey.png"
    Image.fromarray(gradient((120, 90))[..., 0]).save(grey)
    loaded = np.asarray(load_image(grey).image)
    assert loaded.shape == (90, 120, 3) and np.array_equal(loaded[..., 0], loaded[..., 2])

    cmyk = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (120, 90), (0, 255, 255, 0)).save(cmyk, quality=95)  # pure red in CMYK
    red = np.asarray(load_image(cmyk).image).astype(int)
    assert red[..., 0].mean() > 200 and red[..., 1].mean() < 50


def test_sixteen_bit_greyscale_keeps_its_range(tmp_path):
    ramp = np.linspace(0, 65535, 128 * 96).reshape(96, 128).astype(np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(ramp).save(path)
    assert Image.open(path).mode.startswith("I")
    pixels = np.asarray(load_image(path).image)
    assert pixels.min() == 0 and pixels.max() == 255
    assert 120 < pixels.mean() < 135  # a ramp, not clipped to white


def test_animated_gif_uses_its_first_frame(tmp_path):
    frames = [Image.new("RGB", (96, 96), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    pixels = np.asarray(load_image(path).image).astype(int)
    assert pixels[..., 0].mean() > 200 and pixels[..., 1].mean() < 50


def test_colour_profiles_are_honoured_or_ignored_when_broken(tmp_path):
    picture = Image.new("RGB", (80, 80), (120, 60, 200))
    tagged = tmp_path / "tagged.png"
    picture.save(tagged, icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    assert np.abs(np.asarray(load_image(tagged).image)[0, 0].astype(int) - [120, 60, 200]).max() <= 1
    broken = tmp_path / "broken-profile.png"
    picture.save(broken, icc_profile=b"not a profile")
    assert np.array_equal(np.asarray(load_image(broken).image)[0, 0], [120, 60, 200])


def test_bytes_input_is_named(tmp_path):
    data = io.BytesIO()
    Image.fromarray(gradient((100, 100))).save(data, format="WEBP", lossless=True)
    loaded = load_image(data.getvalue(), name="upload.webp")
    assert loaded.name == "upload.webp" and loaded.size == (100, 100)
