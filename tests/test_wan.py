"""Wan as a second model family, on the tiny random Wan models: the engine's frames equal diffusers'
WanImageToVideoPipeline called directly with the same inputs and seed, the prompt reaches it, its rules (frames 4k+1,
sizes, settings of its own) are kept and said in one line, its previews draw its latents, and the CLI runs it."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from conftest import run_svd_here
from diffusers import WanImageToVideoPipeline
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from mp4 import decode
from PIL import Image

from svd.engine import Engine
from svd.errors import InputError
from svd.families.catalogue import CATALOGUE, check_model_folder, resolve_model
from svd.families.loading import is_downloaded
from svd.families.wan.loading import store_in_fp8
from svd.finish.options import FinishOptions
from svd.input.image import load_image
from svd.input.sizing import fit_image
from svd.models import memory
from svd.request import GenerationRequest, TextSource
from svd.settings import Settings
from ui.reuse import controls_from

PROMPT = "the kite climbs, slow pan left"


@pytest.fixture(scope="module")
def engine(tiny_wan) -> Engine:
    """One CPU engine, loading whichever tiny Wan model a request names."""
    return Engine(device="cpu", default_model=str(tiny_wan["tiny-wan2.1"]))


def direct_frames(folder, picture, settings, seed: int) -> np.ndarray:
    """What diffusers' pipeline, called directly as its documentation shows, makes with the same settings (rounded
    to bytes as its PIL output is)."""
    pipe = WanImageToVideoPipeline.from_pretrained(folder)
    pipe.set_progress_bar_config(disable=True)
    second = settings.guidance_scale_2 if pipe.config.boundary_ratio is not None else None
    frames = pipe(
        image=fit_image(Image.open(picture).convert("RGB"), (settings.width, settings.height)),
        prompt=settings.prompt, negative_prompt=settings.negative_prompt, height=settings.height,
        width=settings.width, num_frames=settings.num_frames, num_inference_steps=settings.num_inference_steps,
        guidance_scale=settings.max_guidance_scale, guidance_scale_2=second,
        generator=torch.Generator("cpu").manual_seed(seed), output_type="np",
    ).frames[0]  # fmt: skip
    return (frames * 255).round().astype(np.uint8)


@pytest.mark.parametrize("architecture", ["tiny-wan2.1", "tiny-wan2.2-ti2v", "tiny-wan2.2-a14b"])
def test_frames_equal_the_wan_pipeline_called_directly(engine, tiny_wan, picture, architecture):
    folder = tiny_wan[architecture]
    request = GenerationRequest(
        image=load_image(picture), model=str(folder), prompt=PROMPT, negative_prompt="blurry", seed=11
    )
    result = engine.generate(request)
    settings = result.settings
    assert settings.family == "wan" and settings.prompt == PROMPT and settings.motion_bucket_id is None
    assert settings.num_frames == 5 and settings.width % 16 == 0 and settings.height % 16 == 0
    assert result.frames.shape == (5, settings.height, settings.width, 3)
    assert np.array_equal(result.frames, direct_frames(folder, picture, settings, 11))


def test_the_prompt_reaches_the_pipeline_and_the_previews_draw_its_latents(engine, tiny_wan, picture):
    folder = str(tiny_wan["tiny-wan2.1"])
    first = GenerationRequest(image=load_image(picture), model=folder, prompt=PROMPT, seed=4, num_inference_steps=3)
    reports = []
    made = engine.generate(first, progress=reports.append, preview_every=1)
    other = engine.generate(GenerationRequest(image=load_image(picture), model=folder, prompt="it rains", seed=4,
                                              num_inference_steps=3))  # fmt: skip
    assert not np.array_equal(made.frames, other.frames)
    previews = [report for report in reports if report.preview is not None]
    assert [report.step for report in previews] == [1, 2, 3]
    settings = made.settings  # 5 frames are 2 latent frames (the first alone, then 4), at 1/8 of the size
    assert all(each.preview.shape == (2, settings.height // 8, settings.width // 8, 3) for each in previews)
    assert not np.array_equal(previews[0].preview, previews[-1].preview)


def test_a_wan_folder_is_known_by_its_layout_and_states_its_defaults(tiny_wan):
    assert check_model_folder(tiny_wan["tiny-wan2.2-ti2v"]).name == "wan"  # its model_index names WanPipeline
    defaults = resolve_model(str(tiny_wan["tiny-wan2.2-a14b"])).defaults
    assert (defaults.family, defaults.frame_step, defaults.guidance_scale_2) == ("wan", 4, 2.0)
    assert resolve_model(str(tiny_wan["tiny-wan2.2-ti2v"])).defaults.size_multiple == 32
    entries = [entry for entry in CATALOGUE.values() if entry.defaults.family == "wan"]
    assert {entry.repo_id for entry in entries} >= {
        "Wan-AI/Wan2.2-TI2V-5B-Diffusers", "Wan-AI/Wan2.1-I2V-14B-480P-Diffusers",
        "Wan-AI/Wan2.1-I2V-14B-720P-Diffusers", "Wan-AI/Wan2.2-I2V-A14B-Diffusers",
    }  # fmt: skip
    assert all(entry.facts.startswith("Apache-2.0, not gated") for entry in entries if not entry.hub_files)
    assert all("lightx2v" in entry.facts and "licence" in entry.facts.lower() for entry in entries if entry.hub_files)


@pytest.mark.parametrize(
    ("model", "asked", "said"),
    [
        ("wan", dict(num_frames=6), "frames 6 does not suit"),
        ("wan", dict(motion_bucket_id=90), "motion is a setting of Stable Video Diffusion models"),
        ("wan", dict(noise_aug_strength=0.1), "noise augmentation is a setting of Stable Video Diffusion"),
        ("svd", dict(prompt="a cat"), "does not take a prompt: only Wan or LTX-Video models follow one"),
    ],
)
def test_a_setting_the_family_lacks_is_refused_in_one_line(engine, tiny_wan, tiny_model, picture, model, asked, said):
    folder = tiny_wan["tiny-wan2.1"] if model == "wan" else tiny_model
    with pytest.raises(InputError) as refused:
        engine.generate(GenerationRequest(image=load_image(picture), model=str(folder), **asked))
    assert said in str(refused.value) and "\n" not in str(refused.value)


def test_the_cli_makes_a_wan_video_with_a_prompt(capsys, tmp_path, picture):
    folder = tmp_path / "wan"
    code, _, _ = run_svd_here(capsys, "make-tiny", str(folder), "--wan", "2.2-ti2v")
    assert code == 0 and check_model_folder(folder).name == "wan"
    stem = tmp_path / "out" / "kite"
    code, _, err = run_svd_here(
        capsys, "generate", str(picture), "--model", str(folder), "--prompt", PROMPT, "--seed", "2", "-o", str(stem)
    )
    assert code == 0, err
    record = json.loads(stem.with_suffix(".json").read_text())
    assert (record["family"], record["prompt"], record["num_frames"]) == ("wan", PROMPT, 5)
    assert "first_frame" not in record and record["input_picture"]  # a picture's video, though it has a prompt
    video = decode(stem.with_suffix(".mp4"))
    assert len(video.frames) == 5 and video.size == (record["width"], record["height"]) and video.fps == 8


def test_a_wan_model_from_the_hub_fetches_its_familys_files(hub, tiny_wan, picture):
    hub.serve("wan-tests/tiny-ti2v", tiny_wan["tiny-wan2.2-ti2v"])
    engine = Engine(device="cpu", default_model="wan-tests/tiny-ti2v")
    assert not is_downloaded(engine.source())
    result = engine.generate(GenerationRequest(image=load_image(picture), prompt=PROMPT, seed=1))
    assert (result.settings.family, result.settings.width, result.settings.height) == ("wan", 64, 32)
    assert is_downloaded(engine.source())  # the tokenizer and the bf16-or-fp32 weights too, not SVD's fp16 files


def test_the_api_makes_a_wan_video_from_a_prompt_and_refuses_svds_settings_for_it(server, picture):
    client = Client(server.url, verbose=False)
    video, _, settings = client.predict(
        handle_file(str(picture)), model="wan", prompt=PROMPT, seed=6, frames=5, steps=2, api_name="/generate"
    )
    assert (settings["family"], settings["prompt"], settings["motion_bucket_id"]) == ("wan", PROMPT, None)
    assert len(decode(video).frames) == 5
    refusals = ((dict(model="wan", motion=90), "motion is a setting of Stable Video Diffusion models"),
                (dict(prompt="a cat"), "does not take a prompt: only Wan or LTX-Video models follow one"))  # fmt: skip
    for asked, said in refusals:
        with pytest.raises(AppError) as refused:
            client.predict(handle_file(str(picture)), frames=5, steps=1, api_name="/generate", **asked)
        assert said in str(refused.value)


def test_wan_variations_and_extend_run_through_the_same_stages(engine, tiny_wan, picture):
    asked = dict(image=load_image(picture), model=str(tiny_wan["tiny-wan2.1"]), prompt=PROMPT)
    both = engine.generate_videos(GenerationRequest(**asked, seed=20, variations=2))
    assert [video.settings.seed for video in both] == [20, 21] and not np.array_equal(both[0].frames, both[1].frames)
    extended = engine.generate(GenerationRequest(**asked, seed=21, finish=FinishOptions(extend=2)))
    assert extended.segment_seeds == [21, 22] and len(extended.frames) == 9  # two segments of 5 that share a frame
    assert np.array_equal(extended.frames[:5], both[1].frames)  # its first segment is seed 21's video


def test_a_camera_move_starts_wan_from_the_noised_guide_at_its_sigma(engine, tiny_wan, picture):
    folder = tiny_wan["tiny-wan2.1"]
    asked = dict(image=load_image(picture), model=str(folder), prompt=PROMPT, seed=3, num_inference_steps=4)
    pipe = engine.load(str(folder)).pipe
    seen: list[torch.Tensor] = []  # what the transformer is given at each call
    hook = pipe.transformer.register_forward_pre_hook(
        lambda module, args, kwargs: seen.append(kwargs["hidden_states"]), with_kwargs=True
    )
    try:
        moved = engine.generate(GenerationRequest(**asked, camera="pan-left", camera_strength=0.5))
    finally:
        hook.remove()
    assert len(moved.step_seconds) == 2 and len(seen) == 2 * 2  # 4 steps, half skipped; guided: two calls a step
    # the start, computed here: the guide's latents, normalised, mixed with the seed's own noise at the third sigma
    pixels = torch.from_numpy(moved.guide).permute(3, 0, 1, 2)[None].float() / 127.5 - 1
    with torch.no_grad():
        x0 = pipe.vae.encode(pixels).latent_dist.mode()
    shape = (1, pipe.vae.config.z_dim, 1, 1, 1)
    x0 = (x0 - torch.tensor(pipe.vae.config.latents_mean).view(shape)) / torch.tensor(
        pipe.vae.config.latents_std
    ).view(shape)
    noise = torch.randn(x0.shape, generator=torch.Generator("cpu").manual_seed(3))
    scheduler = type(pipe.scheduler).from_config(pipe.scheduler.config)
    scheduler.set_timesteps(4)
    sigma = float(scheduler.sigmas[2])
    assert 0 < sigma < 1
    first = seen[0][:, : x0.shape[1]]  # the noisy latents, before the picture's condition
    assert torch.allclose(first, (1 - sigma) * x0 + sigma * noise, atol=1e-5)
    still = engine.generate(GenerationRequest(**asked, camera="pan-left", camera_strength=0.0))
    plain = engine.generate(GenerationRequest(**asked))
    assert np.array_equal(still.frames, plain.frames) and not np.array_equal(moved.frames, plain.frames)


def test_the_balanced_profile_stores_the_transformers_in_fp8_and_still_generates(tiny_wan, picture):
    pipe = WanImageToVideoPipeline.from_pretrained(tiny_wan["tiny-wan2.2-a14b"])
    pipe.set_progress_bar_config(disable=True)
    store_in_fp8(pipe)  # on a GPU with the balanced profile; here computed in float32 on the CPU
    for transformer in (pipe.transformer, pipe.transformer_2):
        weights = {parameter.dtype for name, parameter in transformer.named_parameters() if "ffn" in name}
        assert weights == {torch.float8_e4m3fn}
    frames = pipe(
        image=Image.open(picture).convert("RGB").resize((64, 48)), prompt=PROMPT, height=48, width=64, num_frames=5,
        num_inference_steps=2, generator=torch.Generator("cpu").manual_seed(0), output_type="np",
    ).frames[0]  # fmt: skip
    assert frames.shape == (5, 48, 64, 3) and np.isfinite(frames).all()


@pytest.mark.parametrize(
    ("model", "available_gib", "expected"),
    [("wan2.2-ti2v-5b", 23.5, "balanced"), ("wan2.2-ti2v-5b", 40, "full"), ("wan2.1-i2v-14b-480p", 23.5, "balanced"),
     ("wan2.1-i2v-14b-480p", 16, "low"), ("wan2.2-i2v-a14b", 80, "full"), ("svd-xt", 23.5, "full")],
)  # fmt: skip
def test_auto_picks_each_models_profile_from_its_own_memory_needs(monkeypatch, model, available_gib, expected):
    monkeypatch.setattr(memory, "available_gpu_bytes", lambda device: int(available_gib * 1024**3))
    needs = CATALOGUE[model].defaults.profile_needs()
    assert memory.choose_profile("auto", torch.device("cuda"), *needs) == expected


def test_text_to_video_gives_wan_the_prompt_the_first_frame_was_made_from(engine, tiny_wan, picture):
    asked = dict(image=load_image(picture), model=str(tiny_wan["tiny-wan2.1"]), seed=9)
    text = TextSource(PROMPT, "", "none", "tiny-t2i", 9)  # as if the picture were the first frame made from PROMPT
    from_text = engine.generate(GenerationRequest(**asked, text=text))
    told = engine.generate(GenerationRequest(**asked, prompt=PROMPT))
    assert (from_text.settings.prompt, from_text.settings.t2i_model) == (PROMPT, "tiny-t2i")
    assert np.array_equal(from_text.frames, told.frames)

    motion = "the kite dives"  # a prompt for the motion goes beside the first frame's text, which stays recorded
    moved = engine.generate(GenerationRequest(**asked, text=text, prompt=motion, negative_prompt="blur"))
    settings = moved.settings
    assert (settings.prompt, settings.motion_prompt, settings.motion_negative_prompt) == (PROMPT, motion, "blur")
    direct = engine.generate(GenerationRequest(**asked, prompt=motion, negative_prompt="blur"))
    assert np.array_equal(moved.frames, direct.frames)  # the video followed the motion's prompt
    record = dataclasses.asdict(settings)  # as the sidecar holds them
    assert controls_from(engine, Settings(), record)[-8:-6] == [motion, "blur"]  # Reuse: the motion box gets them
