"""The finishing stages' networks and files: RIFE's warp and weights (its flownet.pkl and the release zip), the
upscaler through spandrel on a tiny random Real-ESRGAN file in the release format, catalogue weights fetched through
the Hugging Face cache and checked, and every output format decoded."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
import torch
from mp4 import decode
from PIL import Image

from svd.errors import ModelError
from svd.finish import upscale as upscale_module
from svd.finish.models import FinishModels
from svd.finish.rife import IFNet, interpolate_frames, load_rife, save_random_rife, warp
from svd.finish.upscale import load_upscaler, save_random_upscaler, upscale_frames
from svd.finish.weights import WeightsFile, fetch_weights
from svd.media.digest import file_sha256
from svd.media.formats import GIF_MAX_WIDTH
from svd.media.video import write_video

CPU = torch.device("cpu")


def noise_clip(count: int, width: int, height: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, height, width, 3), dtype=np.uint8)


def test_warp_moves_the_picture_by_the_flow():
    """RIFE's warp samples each pixel at its position plus the flow: a flow of +3 px in x shows the picture's
    content from 3 px to the right."""
    picture = torch.from_numpy(noise_clip(1, 40, 24)[0]).permute(2, 0, 1)[None].float()
    flow = torch.zeros(1, 2, 24, 40)
    flow[:, 0] = 3.0
    flow[:, 1] = -2.0
    warped = warp(picture, flow)
    assert torch.allclose(warped[:, :, 2:, :-3], picture[:, :, :-2, 3:], atol=1e-3)


def test_rife_keeps_the_given_frames_and_fills_between(tiny_rife):
    model = load_rife(tiny_rife, CPU, torch.float32)
    frames = noise_clip(4, 100, 60)  # not a multiple of 64: padded inside and cut back
    for factor in (2, 3, 4):
        out = interpolate_frames(model, frames, factor, CPU, torch.float32)
        assert out.shape == ((4 - 1) * factor + 1, 60, 100, 3)
        assert np.array_equal(out[::factor], frames)
        assert not np.array_equal(out[1], frames[0])


def test_rife_weights_load_from_the_release_zip_and_in_the_426_layout(tiny_rife, tmp_path):
    release = tmp_path / "RIFEv4.25_0919.zip"
    with zipfile.ZipFile(release, "w") as archive:
        archive.write(tiny_rife, "train_log/flownet.pkl")
    from_zip = load_rife(release, CPU, torch.float32)
    from_file = load_rife(tiny_rife, CPU, torch.float32)
    for (name, a), (_, b) in zip(from_zip.state_dict().items(), from_file.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    wide = load_rife(save_random_rife(tmp_path / "426" / "flownet.pkl", feature_channels=16), CPU, torch.float32)
    assert isinstance(wide, IFNet) and wide.encode.cnn3.out_channels == 16


def test_files_that_are_not_rife_weights_are_refused_in_one_line(tmp_path):
    text = tmp_path / "flownet.pkl"
    text.write_text("not weights")
    with pytest.raises(ModelError, match="is not RIFE weights"):
        load_rife(text, CPU, torch.float32)
    other = tmp_path / "other.pkl"
    torch.save({"module.conv.weight": torch.zeros(1)}, other)
    with pytest.raises(ModelError, match=r"not RIFE 4\.25/4\.26 weights"):
        load_rife(other, CPU, torch.float32)


def test_the_upscaler_gives_the_exact_size_and_tiles_without_seams(tiny_upscaler, monkeypatch):
    model = load_upscaler(tiny_upscaler, CPU, torch.float32)
    assert model.scale == 4 and model.architecture.name == "RealESRGAN Compact"
    frames = noise_clip(2, 80, 48)
    whole = np.asarray(upscale_frames(model, frames, (320, 192)), dtype=int)  # frames are upscaled as they are read
    monkeypatch.setattr(upscale_module, "TILE", 32)  # 3 x 2 tiles; the tiny network sees 4 px around each pixel
    tiled = np.asarray(upscale_frames(model, frames, (320, 192)), dtype=int)
    assert np.abs(whole - tiled).max() <= 1
    assert np.asarray(upscale_frames(model, frames, (160, 96))).shape == (2, 96, 160, 3)  # x2 from x4, Lanczos
    assert upscale_frames(model, frames, (1920, 1080))[1].shape == (1080, 1920, 3)


def test_the_quality_upscalers_architecture_loads_from_its_release_form(tmp_path):
    model = load_upscaler(save_random_upscaler(tmp_path / "rrdb.pth", "rrdb"), CPU, torch.float32)
    assert model.scale == 4 and model.architecture.name == "ESRGAN"


def test_upscaler_files_that_spandrel_cannot_load_are_named(tmp_path):
    with pytest.raises(ModelError, match=r"upscaler weights file .*missing\.pth does not exist"):
        load_upscaler(tmp_path / "missing.pth", CPU, torch.float32)
    junk = tmp_path / "junk.pth"
    torch.save({"something.weight": torch.zeros(3)}, junk)
    with pytest.raises(ModelError, match=r"junk\.pth is not upscaler weights spandrel knows"):
        load_upscaler(junk, CPU, torch.float32)


def test_catalogue_weights_come_through_the_hub_cache_and_must_be_the_released_file(hub, tiny_upscaler, tmp_path):
    folder = tmp_path / "repo"
    folder.mkdir()
    (folder / "x4.pth").write_bytes(tiny_upscaler.read_bytes())
    hub.serve("svd-tests/upscalers", folder)
    entry = WeightsFile(
        name="test-x4", repo_id="svd-tests/upscalers", revision="0123456789abcdef0123456789abcdef01234567",
        filename="x4.pth", sha256=file_sha256(tiny_upscaler), title="test", licence="MIT", flops_per_pixel=1e6,
    )  # fmt: skip
    fetched = fetch_weights(entry)
    assert fetched.read_bytes() == tiny_upscaler.read_bytes() and "svd-tests--upscalers" in str(fetched)
    with pytest.raises(ModelError, match=r"x4.pth from svd-tests/upscalers is not the released file"):
        fetch_weights(WeightsFile(**{**entry.__dict__, "sha256": "0" * 64}))


def test_a_broken_rife_file_falls_back_to_minterpolate_with_the_reason(tmp_path):
    broken = tmp_path / "flownet.pkl"
    broken.write_text("truncated")
    models = FinishModels(CPU, torch.float32, interpolator=str(broken))
    result = models.interpolate(noise_clip(3, 64, 32), 2, 6)
    assert result.method == "minterpolate" and len(result.frames) == 5
    assert "is not RIFE weights" in result.note and "minterpolate made the in-between frames" in result.note


@pytest.mark.parametrize(
    ("name", "codec"), [("mp4", "h264"), ("webm", "vp9"), ("gif", "gif"), ("webp", None)]
)  # fmt: skip
def test_each_format_decodes_with_its_frames_rate_and_size(name, codec, tmp_path):
    frames = noise_clip(6, 96, 54, seed=3)
    path = write_video(frames, tmp_path / "clip", 12, name)
    assert path == tmp_path / f"clip.{name}" and not list(tmp_path.glob(".*partial*"))
    if codec is not None:
        video = decode(path)
        assert (video.codec, video.size, len(video.frames)) == (codec, (96, 54), 6)
        assert video.fps == pytest.approx(12, rel=0.05)  # GIF stores delays in hundredths of a second
    if name in ("gif", "webp"):
        with Image.open(path) as animation:
            assert (animation.n_frames, animation.size, animation.is_animated) == (6, (96, 54), True)
            assert animation.info.get("loop") == 0


def test_1080p_is_written_at_exactly_1080_lines_and_gifs_are_at_most_640_wide(tmp_path):
    frames = noise_clip(2, 1920, 1080, seed=4)
    assert decode(write_video(frames, tmp_path / "full-hd", 24, "mp4")).size == (1920, 1080)
    with Image.open(write_video(frames, tmp_path / "small", 24, "gif")) as gif:
        assert gif.size == (GIF_MAX_WIDTH, 360)
