"""First and last frames: a last frame reaches the pipeline of every model that takes one (the engine's video equals
diffusers' pipeline called directly with it: Wan's `last_image`, LTX-Video's condition at the last frame), both
pictures are fitted to the same size the same way, an extended video ends on it, models without one refuse it in one
line, and the sidecar keeps it beside the input picture."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch
from conftest import run_svd_here, write_picture
from diffusers import LTXConditionPipeline, WanImageToVideoPipeline
from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError, ValidationError
from mp4 import decode
from PIL import Image

from svd.engine import Engine
from svd.errors import InputError
from svd.families.ltx.recipe import call_arguments
from svd.finish.options import FinishOptions
from svd.input.image import load_image
from svd.input.sizing import fit_image
from svd.output.sidecar import read_record
from svd.request import GenerationRequest

SMALL = dict(num_frames=5, num_inference_steps=2, seed=3, size=(64, 48), prompt="a kite")


@pytest.fixture(scope="module")
def last(tmp_path_factory):
    """A last frame of another aspect than the first (300x100 against 256x144), so fitting it matters, and mirrored,
    so it differs from the first wherever it is cut."""
    path = write_picture(tmp_path_factory.mktemp("last") / "last.png", (300, 100))
    Image.open(path).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(path)
    return path


@pytest.fixture(scope="module")
def engine(tiny_wan) -> Engine:
    return Engine(device="cpu", default_model=str(tiny_wan["tiny-wan2.1-flf2v"]))


def fitted(path, settings) -> Image.Image:
    return fit_image(Image.open(path).convert("RGB"), (settings.width, settings.height), settings.resize)


def test_wan_ends_on_the_last_frame_as_its_pipeline_does(engine, tiny_wan, picture, last):
    ask = dict(image=load_image(picture), **SMALL)
    ended = engine.generate(GenerationRequest(**ask, last_frame=load_image(last)))
    other = engine.generate(GenerationRequest(**ask, last_frame=load_image(picture)))
    assert not np.array_equal(ended.frames, other.frames)  # the last frame changes the video
    settings = ended.settings
    pipe = WanImageToVideoPipeline.from_pretrained(tiny_wan["tiny-wan2.1-flf2v"])
    pipe.set_progress_bar_config(disable=True)
    direct = pipe(
        image=fitted(picture, settings), last_image=fitted(last, settings), prompt=settings.prompt,
        height=settings.height, width=settings.width, num_frames=settings.num_frames,
        num_inference_steps=settings.num_inference_steps, guidance_scale=settings.max_guidance_scale,
        generator=torch.Generator("cpu").manual_seed(settings.seed), output_type="np",
    ).frames[0]  # fmt: skip
    assert np.array_equal(ended.model_frames, (direct * 255).round().astype(np.uint8))

    a14b = dict(ask, model=str(tiny_wan["tiny-wan2.2-a14b"]))  # an extended video ends on it: its last segment does
    plain = engine.generate(GenerationRequest(**a14b))
    extended = engine.generate(GenerationRequest(**a14b, last_frame=load_image(last), finish=FinishOptions(extend=2)))
    assert np.array_equal(extended.frames[:5], plain.frames)  # the first segment is the plain video...
    assert extended.segment_seeds == [3, 4] and len(extended.frames) == 9  # ...and the second ends on the last frame
    assert not np.array_equal(extended.frames[4:], engine.generate(GenerationRequest(**{**a14b, "seed": 4})).frames)


def test_ltx_ends_on_a_condition_at_its_last_frame(tiny_ltx, picture, last):
    engine = Engine(device="cpu", default_model=str(tiny_ltx))
    ended = engine.generate(
        GenerationRequest(image=load_image(picture), seed=5, prompt="a kite", last_frame=load_image(last))
    )
    settings = ended.settings
    pipe = LTXConditionPipeline.from_pretrained(tiny_ltx)
    pipe.set_progress_bar_config(disable=True)
    own = json.loads((tiny_ltx / "svd_defaults.json").read_text())["pipeline_arguments"]
    direct = pipe(
        conditions=[
            LTXVideoCondition(image=fitted(picture, settings)),
            LTXVideoCondition(image=fitted(last, settings), frame_index=settings.num_frames - 1),
        ],
        prompt=settings.prompt, height=settings.height, width=settings.width, num_frames=settings.num_frames,
        frame_rate=settings.fps, num_inference_steps=settings.num_inference_steps,
        guidance_scale=settings.max_guidance_scale, generator=torch.Generator("cpu").manual_seed(settings.seed),
        output_type="np", **call_arguments(own, settings.num_inference_steps),
    ).frames[0]  # fmt: skip
    assert np.array_equal(ended.frames, (direct * 255).round().astype(np.uint8))
    plain = engine.generate(GenerationRequest(image=load_image(picture), seed=5, prompt="a kite"))
    assert not np.array_equal(ended.frames, plain.frames)


def test_models_without_a_last_frame_refuse_it_in_one_line(engine, tiny_model, tiny_wan, picture, last):
    for model in (tiny_model, tiny_wan["tiny-wan2.1"], tiny_wan["tiny-wan2.2-ti2v"]):
        ask = dict(image=load_image(picture), model=str(model), last_frame=load_image(last))
        with pytest.raises(InputError) as refused:
            engine.prepare(GenerationRequest(**ask))
        message = str(refused.value)
        assert message.startswith(f"{model} does not take a last frame: leave it out, or choose a model that ends")
        assert "wan2.1-flf2v-14b-720p" in message and "ltx-0.9.8-13b-distilled" in message and "\n" not in message
    with pytest.raises(InputError, match="makes a video from a first to a last frame: give it a last frame as well"):
        engine.prepare(GenerationRequest(image=load_image(picture)))  # FLF2V needs both


def test_the_cli_takes_a_last_frame_and_the_sidecar_keeps_it_beside_the_picture(
    tiny_wan, picture, last, tmp_path, capsys
):
    code, _, err = run_svd_here(
        capsys, "generate", str(picture), "--model", str(tiny_wan["tiny-wan2.2-a14b"]), "--prompt", "a kite",
        "--last-frame", str(last), "--frames", "5", "--steps", "2", "--size", "64x48", "-o", str(tmp_path / "v"),
    )  # fmt: skip
    assert code == 0, err
    record = read_record(tmp_path / "v.json")
    assert (record["last_frame_name"], record["last_frame_picture"]) == ("last.png", "v_last.png")
    kept = tmp_path / record["last_frame_picture"]
    assert hashlib.sha256(kept.read_bytes()).hexdigest() == record["last_frame_sha256"] == _sha(last)
    assert record["input_picture"] == "v_input.png"
    bad = write_picture(tmp_path / "broken.png", (8, 8))
    bad.write_bytes(b"not a picture")
    code, _, err = run_svd_here(capsys, "generate", str(picture), "--model", str(tiny_wan["tiny-wan2.1"]),
                                "--last-frame", str(bad))  # fmt: skip
    assert code == 2 and err.strip().splitlines()[-1].startswith("error: broken.png")


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_api_takes_a_last_frame_and_refuses_it_where_the_model_takes_none(server, picture, last):
    client = Client(server.url, verbose=False)
    video, _, settings = client.predict(
        handle_file(str(picture)), model="flf2v", prompt="a kite", frames=5, steps=2, seed=4,
        last_frame=handle_file(str(last)), api_name="/generate",
    )  # fmt: skip
    assert (settings["last_frame_name"], settings["last_frame_sha256"]) == ("last.png", _sha(last))
    assert (server.output_dir / settings["last_frame_picture"]).is_file() and len(decode(video).frames) == 5
    refusals = (
        (dict(model="flf2v"), "makes a video from a first to a last frame: give it a last frame as well"),
        (dict(model="wan", last_frame=handle_file(str(last))), "does not take a last frame"),
        (dict(model="flf2v", last_frame="/etc/hostname"), "last_frame must be a file"),
    )
    for asked, said in refusals:
        with pytest.raises((AppError, ValidationError)) as refused:
            client.predict(handle_file(str(picture)), frames=5, steps=1, api_name="/generate", **asked)
        assert said in str(refused.value)
