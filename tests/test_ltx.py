"""LTX-Video as a third model family, on the tiny random LTX-Video model: the engine's frames equal diffusers'
LTXConditionPipeline called directly with the same inputs and seed, the prompt reaches it, its rules (frames 8k+1,
sizes multiples of 32, no SVD settings) are kept and said in one line, its previews draw its latents, a camera move
starts from the guide through the pipeline's own video-to-video path, and the CLI runs it."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from conftest import run_svd_here
from diffusers import LTXConditionPipeline, LTXVideoTransformer3DModel
from diffusers.pipelines.ltx.pipeline_ltx_condition import linear_quadratic_schedule
from mp4 import decode
from PIL import Image

from svd.engine import Engine
from svd.errors import InputError
from svd.families.catalogue import CATALOGUE, check_model_folder, resolve_model
from svd.families.ltx.catalogue import LTX_FOLDER, TIMESTEP_DECODE
from svd.families.ltx.loading import store_in_fp8
from svd.input.image import load_image
from svd.input.sizing import fit_image
from svd.models.entries import DEFAULTS_FILE
from svd.request import GenerationRequest

PROMPT = "the kite climbs, slow pan left"


@pytest.fixture(scope="module")
def engine(tiny_ltx) -> Engine:
    return Engine(device="cpu", default_model=str(tiny_ltx))


def direct_call(folder, picture, settings, seed: int, **extra):
    """diffusers' pipeline called directly as its documentation shows, with the arguments the model folder states
    (its own timesteps only for as many steps as they list)."""
    pipe = LTXConditionPipeline.from_pretrained(folder)
    pipe.set_progress_bar_config(disable=True)
    own = dict(json.loads((folder / DEFAULTS_FILE).read_text())["pipeline_arguments"])
    timesteps = own.pop("timesteps")
    if len(timesteps) == settings.num_inference_steps:
        own["timesteps"] = timesteps
    return pipe(
        image=fit_image(Image.open(picture).convert("RGB"), (settings.width, settings.height)),
        prompt=settings.prompt, negative_prompt=settings.negative_prompt, height=settings.height,
        width=settings.width, num_frames=settings.num_frames, frame_rate=settings.fps,
        num_inference_steps=settings.num_inference_steps, guidance_scale=settings.max_guidance_scale,
        generator=torch.Generator("cpu").manual_seed(seed), **own, **extra,
    ).frames  # fmt: skip


@pytest.mark.parametrize("asked", [{}, dict(max_guidance_scale=3.0, num_inference_steps=3)])
def test_frames_equal_the_ltx_pipeline_called_directly(engine, tiny_ltx, picture, asked):
    request = GenerationRequest(
        image=load_image(picture), model=str(tiny_ltx), prompt=PROMPT, negative_prompt="blurry", seed=11, **asked
    )
    result = engine.generate(request)
    settings = result.settings
    assert settings.family == "ltx" and settings.prompt == PROMPT and settings.motion_bucket_id is None
    assert settings.num_frames == 9 and settings.width % 32 == 0 and settings.height % 32 == 0
    assert result.frames.shape == (9, settings.height, settings.width, 3)
    direct = direct_call(tiny_ltx, picture, settings, 11, output_type="np")[0]
    assert np.array_equal(result.frames, (direct * 255).round().astype(np.uint8))


def test_the_prompt_changes_the_video_and_the_previews_draw_its_latents(engine, tiny_ltx, picture):
    asked = dict(image=load_image(picture), model=str(tiny_ltx), seed=4)
    reports = []
    made = engine.generate(GenerationRequest(**asked, prompt=PROMPT), progress=reports.append, preview_every=1)
    other = engine.generate(GenerationRequest(**asked, prompt="it rains"))
    assert not np.array_equal(made.frames, other.frames)
    previews = [report for report in reports if report.preview is not None]
    settings = made.settings  # 9 frames are 2 latent frames, at 1/32 of the size
    assert [report.step for report in previews] == [1, 2]
    assert all(each.preview.shape == (2, settings.height // 32, settings.width // 32, 3) for each in previews)
    # the last step's estimate is the clean latents the pipeline ends with
    latents = direct_call(tiny_ltx, picture, settings, 4, output_type="latent")[0].transpose(0, 1)
    drawn = engine.load(str(tiny_ltx)).preview.frames(latents)
    assert np.abs(previews[-1].preview.astype(int) - drawn.astype(int)).max() <= 1


@pytest.mark.parametrize(
    ("asked", "said"),
    [
        (dict(num_frames=12), "frames 12 does not suit"),
        (dict(motion_bucket_id=90), "motion is a setting of Stable Video Diffusion models"),
        (dict(noise_aug_strength=0.1), "noise augmentation is a setting of Stable Video Diffusion"),
        (dict(min_guidance_scale=1.5), "min guidance is a setting of Stable Video Diffusion"),
    ],
)
def test_a_setting_the_family_lacks_is_refused_in_one_line(engine, tiny_ltx, picture, asked, said):
    with pytest.raises(InputError) as refused:
        engine.prepare(GenerationRequest(image=load_image(picture), model=str(tiny_ltx), **asked))
    assert said in str(refused.value) and "\n" not in str(refused.value)
    if "num_frames" in asked:
        assert "use 1 + a multiple of 8, such as 9" in str(refused.value)


def test_sizes_snap_to_multiples_of_32(engine, tiny_ltx, picture):
    settings = engine.prepare(GenerationRequest(image=load_image(picture), model=str(tiny_ltx), size=(120, 70)))
    assert settings.width % 32 == 0 and settings.height % 32 == 0
    assert (settings.width, settings.height) == (128, 64)


def test_a_camera_move_starts_from_the_noised_guide_through_the_pipelines_video_to_video(engine, tiny_ltx, picture):
    asked = dict(image=load_image(picture), model=str(tiny_ltx), prompt=PROMPT, seed=3, num_inference_steps=4)
    pipe = engine.load(str(tiny_ltx)).pipe
    seen: list[torch.Tensor] = []
    hook = pipe.transformer.register_forward_pre_hook(
        lambda module, args, kwargs: seen.append(kwargs["hidden_states"]), with_kwargs=True
    )
    try:
        moved = engine.generate(GenerationRequest(**asked, camera="pan-left", camera_strength=0.5))
    finally:
        hook.remove()
    assert len(moved.step_seconds) == 2 and len(seen) == 2  # 4 steps, half skipped; guidance 1: one call a step
    # the start, computed here: the guide's normalised latents and the seed's first noise at the third sigma
    pixels = torch.from_numpy(moved.guide).permute(3, 0, 1, 2)[None].float() / 127.5 - 1
    with torch.no_grad():
        x0 = pipe.vae.encode(pixels).latent_dist.mode()
    x0 = (x0 - pipe.vae.latents_mean.view(1, -1, 1, 1, 1)) / pipe.vae.latents_std.view(1, -1, 1, 1, 1)
    noise = torch.randn(x0.shape, generator=torch.Generator("cpu").manual_seed(3))
    sigma = float(linear_quadratic_schedule(4)[2])
    assert 0 < sigma < 1
    expected = ((1 - sigma) * x0 + sigma * noise).flatten(2).transpose(1, 2)  # tokens: frame, row, column
    cells = x0.shape[3] * x0.shape[4]  # the first latent frame is the picture's condition
    assert torch.allclose(seen[0][:, cells:], expected[:, cells:], atol=1e-5)
    still = engine.generate(GenerationRequest(**asked, camera="pan-left", camera_strength=0.0))
    plain = engine.generate(GenerationRequest(**asked))
    assert np.array_equal(still.frames, plain.frames) and not np.array_equal(moved.frames, plain.frames)


def test_the_cli_makes_an_ltx_video_from_a_picture_and_a_prompt(capsys, tmp_path, picture):
    folder = tmp_path / "ltx"
    code, _, _ = run_svd_here(capsys, "make-tiny", str(folder), "--ltx")
    assert code == 0 and check_model_folder(folder).name == "ltx"
    stem = tmp_path / "out" / "kite"
    code, _, err = run_svd_here(
        capsys, "generate", str(picture), "--model", str(folder), "--prompt", PROMPT, "--seed", "2", "-o", str(stem)
    )
    assert code == 0, err
    record = json.loads(stem.with_suffix(".json").read_text())
    assert (record["family"], record["prompt"], record["num_frames"], record["fps"]) == ("ltx", PROMPT, 9, 8)
    video = decode(stem.with_suffix(".mp4"))
    assert len(video.frames) == 9 and video.size == (record["width"], record["height"]) and video.fps == 8


def test_the_catalogue_states_the_licence_and_the_distilled_recipe(tiny_ltx, tmp_path):
    entry = CATALOGUE["ltx-0.9.8-13b-distilled"]
    assert entry.repo_id == "Lightricks/LTX-Video-0.9.8-13B-distilled"
    for each in (entry, CATALOGUE["ltx-0.9.8-2b-distilled"]):  # both state the licence, both run two passes
        assert each.facts.startswith("LTXV Open Weights License (free under US$10M annual revenue")
        assert [file.filename for file in each.hub_files][-1] == "ltxv-spatial-upscaler-0.9.8.safetensors"
    defaults = entry.defaults
    assert (defaults.family, defaults.size_multiple, defaults.frame_step, defaults.max_guidance_scale) == (
        "ltx", 32, 8, 1.0
    )  # fmt: skip
    assert len(defaults.pipeline_arguments["timesteps"]) == defaults.num_inference_steps == 8
    assert (defaults.num_frames - 1) % 8 == 0 and defaults.width % 32 == 0 and defaults.height % 32 == 0
    bare = tmp_path / "bare"  # a folder that states no defaults: the pipeline's own schedule, its VAE's decode noise
    shutil.copytree(tiny_ltx, bare, ignore=shutil.ignore_patterns(DEFAULTS_FILE))
    found = resolve_model(str(bare)).defaults
    assert found.pipeline_arguments == TIMESTEP_DECODE and found.num_inference_steps == LTX_FOLDER.num_inference_steps
    with torch.device("meta"):  # the 13B transformer's size in BENCHMARKS.md
        transformer = LTXVideoTransformer3DModel(
            num_attention_heads=32, attention_head_dim=128, cross_attention_dim=4096, num_layers=48
        )
    assert sum(parameter.numel() for parameter in transformer.parameters()) == 13_042_569_344


def test_the_balanced_profile_stores_the_transformer_in_fp8_and_still_generates(tiny_ltx, picture):
    pipe = LTXConditionPipeline.from_pretrained(tiny_ltx)
    pipe.set_progress_bar_config(disable=True)
    store_in_fp8(pipe)  # on a GPU with the balanced profile; here computed in float32 on the CPU
    weights = {parameter.dtype for name, parameter in pipe.transformer.named_parameters() if ".ff." in name}
    assert weights == {torch.float8_e4m3fn}
    frames = pipe(
        image=Image.open(picture).convert("RGB").resize((96, 64)), prompt=PROMPT, height=64, width=96, num_frames=9,
        num_inference_steps=2, generator=torch.Generator("cpu").manual_seed(0), output_type="np",
    ).frames[0]  # fmt: skip
    assert frames.shape == (9, 64, 96, 3) and np.isfinite(frames).all()
