"""First frames from text on the tiny text-to-image model: the same pictures as diffusers' pipeline called
directly, the style's text reaching the text encoder, and clear lines for bad prompts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from diffusers import AutoPipelineForText2Image

from svd.errors import InputError, ModelError
from svd.input.sizing import fit_image
from svd.text.catalogue import render_size, resolve_text_model
from svd.text.first_frames import FirstFrameMaker
from svd.text.styles import load_styles

VIDEO_SIZE = (256, 144)


@pytest.fixture(scope="module")
def maker() -> FirstFrameMaker:
    return FirstFrameMaker(torch.device("cpu"))


def test_each_candidate_equals_the_pipeline_called_directly_with_its_seed(maker, tiny_text_model):
    model = resolve_text_model(str(tiny_text_model))
    style = load_styles()["cinematic"]
    frames = maker.make(model, "a fox in the snow", style, VIDEO_SIZE, count=2, seed=40, negative_prompt="people")
    assert frames.seeds == [40, 41] and [p.size for p in frames.pictures] == [VIDEO_SIZE] * 2
    assert frames.prompt == style.apply("a fox in the snow")[0] and frames.negative_prompt.endswith(", people")

    pipe = AutoPipelineForText2Image.from_pretrained(tiny_text_model, dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    width, height = render_size(VIDEO_SIZE, model.pixels)
    direct = pipe(
        frames.prompt, negative_prompt=frames.negative_prompt, width=width, height=height,
        num_inference_steps=model.steps, guidance_scale=model.guidance, generator=torch.Generator().manual_seed(41),
    ).images[0]  # fmt: skip
    assert np.array_equal(np.asarray(frames.pictures[1]), np.asarray(fit_image(direct, VIDEO_SIZE)))
    assert not np.array_equal(np.asarray(frames.pictures[0]), np.asarray(frames.pictures[1]))


def test_the_styled_prompt_is_what_reaches_the_text_encoder(maker, tiny_text_model):
    model = resolve_text_model(str(tiny_text_model))
    maker.load(model)
    pipe = maker.pipeline
    seen: list[torch.Tensor] = []
    handle = pipe.text_encoder.register_forward_pre_hook(lambda module, args: seen.append(args[0].clone()))
    try:
        maker.make(model, "a lighthouse", load_styles()["watercolour"], VIDEO_SIZE, count=1, seed=0)
    finally:
        handle.remove()
    expected = pipe.tokenizer(
        "watercolour painting of a lighthouse, soft washes, flowing pigment, paper texture, gentle colours",
        padding="max_length", max_length=pipe.tokenizer.model_max_length, truncation=True, return_tensors="pt",
    ).input_ids  # fmt: skip
    assert torch.equal(seen[0], expected)  # the prompt (the negative prompt follows in a second call)


def test_bad_prompts_are_one_line_and_a_long_one_is_said_to_be_cut(maker, tiny_text_model):
    model = resolve_text_model(str(tiny_text_model))
    none = load_styles()["none"]
    with pytest.raises(InputError, match="the prompt is empty: describe the picture"):
        maker.make(model, "   ", none, VIDEO_SIZE, count=1, seed=0)
    with pytest.raises(InputError, match="9 first frames is out of range: ask for 1 to 8"):
        maker.make(model, "a cat", none, VIDEO_SIZE, count=9, seed=0)
    long = maker.make(model, "a very long prompt " * 10, none, VIDEO_SIZE, count=1, seed=0)
    assert long.notice is not None and "the text encoder takes 77: the end was cut" in long.notice
    assert maker.make(model, "a cat", none, VIDEO_SIZE, count=1, seed=0).notice is None


def test_a_hub_model_downloads_into_the_shared_cache_and_states_its_own_defaults(tiny_text_model, hub):
    hub.serve("svd-tests/tiny-text", tiny_text_model)
    maker = FirstFrameMaker(torch.device("cpu"))
    reports: list[tuple[int, int]] = []
    loaded = maker.load(resolve_text_model("svd-tests/tiny-text"), on_progress=lambda *report: reports.append(report))
    assert (loaded.steps, loaded.guidance, loaded.pixels) == (2, 2.0, 128 * 96)  # its svd_text_defaults.json
    assert reports and reports[-1][0] == reports[-1][1] > 0
    frames = maker.make(loaded, "a cat", load_styles()["none"], VIDEO_SIZE, count=1, seed=3)
    assert frames.steps == 2 and frames.pictures[0].size == VIDEO_SIZE
    hub.gated.add("svd-tests/gated-text")
    with pytest.raises(ModelError, match="svd-tests/gated-text is gated \\(HF_TOKEN is not set\\)"):
        FirstFrameMaker(torch.device("cpu")).load(resolve_text_model("svd-tests/gated-text"))


def test_names_resolve_like_svd_models(tiny_text_model, tiny_model):
    assert resolve_text_model("dreamshaper-xl-lightning").repo_id == "Lykon/dreamshaper-xl-lightning"
    assert resolve_text_model("Lykon/dreamshaper-xl-lightning").name == "dreamshaper-xl-lightning"
    assert resolve_text_model("someone/some-model").repo_id == "someone/some-model"
    assert resolve_text_model(str(tiny_text_model)).steps == 2  # from the folder's svd_text_defaults.json
    with pytest.raises(ModelError, match="unknown text-to-image model 'no such'"):
        resolve_text_model("no such")
    with pytest.raises(ModelError, match="is not a text-to-image model folder: it holds a StableVideoDiffusion"):
        resolve_text_model(str(tiny_model))


@pytest.mark.parametrize(
    ("video", "rendered"),
    [((1024, 576), (1344, 768)), ((576, 1024), (768, 1344)), ((768, 768), (1024, 1024)), ((896, 640), (1216, 896))],
)
def test_first_frames_render_at_about_the_models_pixel_count_in_the_videos_aspect(video, rendered):
    assert render_size(video, 1024 * 1024) == rendered  # SDXL's own 16:9, 9:16 and square buckets
