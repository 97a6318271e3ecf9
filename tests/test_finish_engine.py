"""Finishing through the engine and the command line on the tiny models: extend chains real pipeline runs,
interpolation falls back to ffmpeg when RIFE cannot be had, and every file written is decoded."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from conftest import run_svd_here
from diffusers import StableVideoDiffusionPipeline
from mp4 import decode
from PIL import Image

from svd.engine import Engine
from svd.finish.options import FinishOptions
from svd.input.image import load_image
from svd.request import GenerationRequest

TINY_RUN = dict(num_frames=3, num_inference_steps=1, seed=5)


@pytest.fixture
def pipeline_pictures(monkeypatch) -> list[np.ndarray]:
    """The picture each pipeline call animates, recorded as the engine calls diffusers' pipeline."""
    seen: list[np.ndarray] = []
    original = StableVideoDiffusionPipeline.__call__

    def recording(self, *args, **kwargs):
        seen.append(np.asarray(kwargs["image"][0]))  # one picture per video of the batch
        return original(self, *args, **kwargs)

    monkeypatch.setattr(StableVideoDiffusionPipeline, "__call__", recording)
    return seen


def test_extend_animates_each_segment_from_the_last_frame_of_the_one_before(engine, picture, pipeline_pictures):
    image = load_image(picture)
    plain = engine.generate(GenerationRequest(image=image, **TINY_RUN))
    pipeline_pictures.clear()
    extended = engine.generate(GenerationRequest(image=image, **TINY_RUN, finish=FinishOptions(extend=3)))
    assert extended.segment_seeds == [5, 6, 7]
    assert len(extended.frames) == 3 + 2 + 2
    assert np.array_equal(extended.frames[:3], plain.frames)  # the first segment is the plain run
    assert len(pipeline_pictures) == 3
    assert np.array_equal(pipeline_pictures[1], plain.frames[-1])
    assert np.array_equal(pipeline_pictures[2], extended.frames[4])
    assert "finish_extend" in extended.timings


def test_without_rife_weights_interpolation_falls_back_to_minterpolate_and_says_so(engine, picture):
    """The shared engine's RIFE is the catalogue's, which the test Hub does not have."""
    image = load_image(picture)
    plain = engine.generate(GenerationRequest(image=image, **TINY_RUN))
    result = engine.generate(GenerationRequest(image=image, **TINY_RUN, finish=FinishOptions(interpolate=2)))
    assert result.interpolation_method == "minterpolate"
    assert len(result.notes) == 1 and "minterpolate" in result.notes[0]
    assert len(result.frames) == 5 and result.video_fps == 2 * result.settings.fps
    assert np.array_equal(result.frames[::2], plain.frames)


def test_cli_finishes_with_rife_upscale_loop_and_every_format(
    tiny_model, tiny_rife, tiny_upscaler, picture, tmp_path, capsys
):
    out = tmp_path / "clip"
    code, _, errors = run_svd_here(
        capsys, "generate", str(picture), "-o", str(out), "--model", str(tiny_model), "--device", "cpu",
        "--frames", "3", "--steps", "1", "--fps", "4", "--interpolate", "3", "--interpolator", str(tiny_rife),
        "--upscale", "2", "--upscaler", str(tiny_upscaler), "--loop", "boomerang", "--format", "gif,webm,webp",
        "--save-frames",
    )  # fmt: skip
    assert code == 0, errors
    record = json.loads(out.with_suffix(".json").read_text())
    frames = 2 * ((3 - 1) * 3 + 1) - 2
    width, height = 2 * record["width"], 2 * record["height"]
    assert (record["interpolate"], record["upscale"], record["loop"]) == (3, "2", "boomerang")
    assert record["formats"] == ["mp4", "webm", "gif", "webp"]  # in canonical order
    assert (record["video_num_frames"], record["video_fps"], record["fps"]) == (frames, 12, 4)
    assert (record["video_width"], record["video_height"]) == (width, height)
    assert record["interpolation_method"] == str(tiny_rife) and record["notes"] == []
    timings = record["timings"]  # the upscale and the loop are timed as the writer reads their frames
    assert {"finish_interpolate", "finish_upscale", "finish_loop", "video_encode"} <= set(timings)
    assert timings["finish_upscale"] > 0 and timings["video_encode"] > 0
    mp4 = decode(out.with_suffix(".mp4"))
    assert (mp4.codec, mp4.pix_fmt, mp4.fps, mp4.size, len(mp4.frames)) == (
        "h264",
        "yuv420p",
        12,
        (width, height),
        frames,
    )
    pngs = sorted((tmp_path / "clip_frames").glob("*.png"))  # lossless, so the mirror is exact
    saved = np.stack([np.asarray(Image.open(png).convert("RGB")) for png in pngs])
    assert len(saved) == frames
    for index in range(1, frames // 2):
        assert np.array_equal(saved[index], saved[frames - index])
    webm = decode(out.with_suffix(".webm"))
    assert (webm.codec, webm.fps, webm.size, len(webm.frames)) == ("vp9", 12, (width, height), frames)
    for name in ("gif", "webp"):
        with Image.open(out.with_suffix(f".{name}")) as animation:
            assert animation.n_frames == frames and animation.size == (width, height)
            assert record[name] == f"clip.{name}"

    # Finished again, from the model's own 3 frames (kept beside the video): only what is asked now is applied.
    finish = ["finish", str(out.with_suffix(".json")), "--device", "cpu", "--upscale", "2", "--upscaler",
              str(tiny_upscaler), "--loop", "crossfade"]  # fmt: skip
    code, _, errors = run_svd_here(capsys, *finish)
    assert code == 0, errors
    finished = json.loads((tmp_path / "clip-finished.json").read_text())
    assert finished["finished_from"] == "clip.json" and finished["seed"] == record["seed"]
    assert (finished["interpolate"], finished["upscale"], finished["loop"]) == (1, "2", "crossfade")
    assert (finished["video_width"], finished["video_height"], finished["video_fps"]) == (width, height, 4)
    assert finished["video_num_frames"] < 3 and finished["notes"] == []
    assert decode(tmp_path / "clip-finished.mp4").size == (width, height)
    assert zip_members(tmp_path / finished["model_frames"]) == zip_members(tmp_path / record["model_frames"])

    # A video from before the model's frames were kept is finished on top of its finishing, and says so.
    older = {key: value for key, value in record.items() if key not in ("model_frames", "model_num_frames")}
    out.with_suffix(".json").write_text(json.dumps(older))
    code, _, errors = run_svd_here(capsys, *finish)
    assert code == 0, errors
    assert "note: finished on top of its finishing (×3, upscaled 2, boomerang)" in errors
    stacked = json.loads((tmp_path / "clip-finished-2.json").read_text())
    assert (stacked["interpolate"], stacked["upscale"], stacked["loop"]) == (3, "2", "crossfade")
    assert (stacked["video_width"], stacked["video_height"]) == (2 * width, 2 * height)
    assert stacked["video_num_frames"] < frames and stacked["model_frames"] is None


def test_a_missing_upscaler_file_is_named_before_anything_runs(tiny_model, picture, tmp_path, capsys):
    missing = tmp_path / "nowhere" / "weights.pth"
    code, _, errors = run_svd_here(
        capsys, "generate", str(picture), "-o", str(tmp_path / "x"), "--model", str(tiny_model), "--device", "cpu",
        "--upscale", "2", "--upscaler", str(missing),
    )  # fmt: skip
    assert code == 2
    assert errors.strip().splitlines() == [
        f"error: the upscaler weights file {missing} does not exist: give one of realesr-general-x4v3, "
        "realesrgan-x4 or a .pth file"
    ]
    assert not list(tmp_path.glob("x*"))


def test_a_finished_video_cannot_be_extended(engine):
    with pytest.raises(Exception, match="cannot be extended"):
        engine.finish(np.zeros((3, 16, 16, 3), np.uint8), 6, FinishOptions(extend=2))


def test_an_engine_without_rife_can_be_told_to_use_ffmpeg(tiny_model):
    engine = Engine(device="cpu", default_model=str(tiny_model), interpolator="minterpolate")
    frames = np.zeros((3, 32, 32, 3), np.uint8)
    finished = engine.finish(frames, 6, FinishOptions(interpolate=4))
    assert finished.interpolation_method == "minterpolate" and finished.notes == [] and len(finished.frames) == 9


def zip_members(path) -> dict[str, bytes]:
    """A zip's files and their bytes (not the zip's own bytes, which hold the time each file was written)."""
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}
