"""Turbo: the consistency sampler on its own (its noise levels, its step rule, its determinism), and the svd-xt-turbo
catalogue entry end to end on tiny models served by the test Hub under the real repository names: only the UNet's
file comes from the distilled repository, its frames equal a pipeline put together by hand, and svd-xt is as it was.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from conftest import TURBO_SIZE, run_svd_here
from diffusers import EulerDiscreteScheduler, StableVideoDiffusionPipeline
from safetensors.torch import load_file

from svd.engine import Engine
from svd.errors import InputError
from svd.families.catalogue import CATALOGUE
from svd.families.svd.catalogue import ANIMATELCM
from svd.families.svd.consistency import STEP_NOISE_SEED_OFFSET, ConsistencySVDScheduler
from svd.input.image import load_image
from svd.input.sizing import fit_image
from svd.models.download import cached_model_path
from svd.request import GenerationRequest

SVD_XT = CATALOGUE["svd-xt"].repo_id
TURBO_UNET = CATALOGUE["svd-xt-turbo"].hub_files[0].filename


def karras(ramp: float, low: float = 0.002, high: float = 700.0, rho: float = 7.0) -> float:
    """Karras et al.'s noise level at `ramp` (0: high, 1: low), written out."""
    return (high ** (1 / rho) + ramp * (low ** (1 / rho) - high ** (1 / rho))) ** rho


def test_the_noise_levels_are_every_tenth_point_of_a_40_point_karras_schedule():
    scheduler = ConsistencySVDScheduler()
    scheduler.set_timesteps(4)
    expected = [karras(index / 39) for index in (0, 10, 20, 30)]
    assert scheduler.sigmas.tolist()[:4] == pytest.approx(expected, rel=1e-5)
    assert scheduler.sigmas[0] == pytest.approx(700.0) and scheduler.sigmas[-1] == 0
    assert scheduler.timesteps.tolist() == pytest.approx([0.25 * math.log(sigma) for sigma in expected], rel=1e-5)
    assert scheduler.init_noise_sigma == pytest.approx(math.sqrt(700.0**2 + 1))
    scheduler.set_timesteps(1)
    assert scheduler.sigmas.tolist() == pytest.approx([700.0, 0.0])
    scheduler.set_timesteps(40)
    assert scheduler.sigmas[39] == pytest.approx(0.002, rel=1e-4)
    with pytest.raises(ValueError, match="steps must be 1 to 40"):
        scheduler.set_timesteps(41)


def test_a_step_is_the_consistency_parameterisation_then_fresh_noise_at_the_next_level():
    scheduler = ConsistencySVDScheduler()
    scheduler.set_timesteps(2)
    sigma, sigma_next = (float(value) for value in scheduler.sigmas[:2])
    sample = torch.randn(1, 3, 2, 4, 4, generator=torch.Generator().manual_seed(1))
    output = torch.randn(1, 3, 2, 4, 4, generator=torch.Generator().manual_seed(2))
    scaled = scheduler.scale_model_input(sample)
    assert torch.allclose(scaled, sample / math.sqrt(sigma**2 + 1))
    scheduler.seed_step_noise([9])
    first = scheduler.step(output, scheduler.timesteps[0], sample)
    c_skip, c_out = 1 / (sigma**2 + 1), -sigma / math.sqrt(sigma**2 + 1)  # sigma_data = 1
    assert torch.allclose(first.denoised, c_skip * sample + c_out * output, atol=1e-5)
    noise = torch.randn(sample.shape[1:], generator=torch.Generator().manual_seed(9 + STEP_NOISE_SEED_OFFSET))
    assert torch.allclose(first.prev_sample, first.denoised + sigma_next * noise[None], atol=1e-4)
    last = scheduler.step(output, scheduler.timesteps[1], first.prev_sample)
    assert torch.equal(last.prev_sample, last.denoised)  # nothing is added after the last step


def test_step_noise_is_per_video_and_repeats_for_the_same_seeds():
    def run(seeds: list[int]) -> torch.Tensor:
        scheduler = ConsistencySVDScheduler()
        scheduler.set_timesteps(3)
        scheduler.seed_step_noise(seeds)
        sample = torch.ones(len(seeds), 2, 1, 3, 3)
        return scheduler.step(torch.zeros_like(sample), scheduler.timesteps[0], sample).prev_sample

    together = run([4, 5])
    assert torch.equal(together[0], run([4])[0]) and torch.equal(together[1], run([5])[0])
    assert torch.equal(run([4, 5]), together) and not torch.equal(together[0], together[1])


def test_camera_schedules_start_part_way_down():
    scheduler = ConsistencySVDScheduler()
    scheduler.set_timesteps(4)
    partial_schedule = scheduler.sigmas.tolist()[2:]
    scheduler.set_timesteps(sigmas=partial_schedule)
    assert len(scheduler.timesteps) == 2 and scheduler.sigmas.tolist() == pytest.approx(partial_schedule)
    with pytest.raises(ValueError, match="end in 0"):
        scheduler.set_timesteps(sigmas=[10.0, 1.0])


def test_turbo_is_svd_xt_with_the_distilled_unet_and_the_consistency_sampler(turbo, turbo_hub):
    pipe = turbo.load().pipe
    assert isinstance(pipe.scheduler, ConsistencySVDScheduler)
    distilled = load_file(turbo_hub)
    assert all(torch.equal(pipe.unet.state_dict()[name], tensor.float()) for name, tensor in distilled.items())
    base = cached_model_path(SVD_XT)
    assert turbo.load().path == base  # the base model's own snapshot: nothing of it is stored twice
    unet_snapshot = cached_model_path(ANIMATELCM, [TURBO_UNET])
    assert sorted(path.name for path in unet_snapshot.iterdir()) == [TURBO_UNET]


def test_turbo_runs_four_steps_without_guidance_and_equals_the_pipeline_put_together_by_hand(
    turbo, turbo_hub, picture
):
    calls: list[int] = []
    pipe = turbo.load().pipe
    handle = pipe.unet.register_forward_pre_hook(lambda module, args: calls.append(args[0].shape[0]))
    try:
        result = turbo.generate(GenerationRequest(image=load_image(picture), num_frames=3, seed=21, size=TURBO_SIZE))
    finally:
        handle.remove()
    settings = result.settings
    assert (settings.num_inference_steps, settings.min_guidance_scale, settings.max_guidance_scale) == (4, 1.0, 1.0)
    assert calls == [1, 1, 1, 1]  # no guidance batch
    assert result.notice and "Turbo" in result.notice

    reference = StableVideoDiffusionPipeline.from_pretrained(
        cached_model_path(SVD_XT), variant="fp16", dtype=torch.float32
    )
    reference.unet.load_state_dict(load_file(turbo_hub))
    reference.scheduler = ConsistencySVDScheduler()
    reference.scheduler.seed_step_noise([21])
    frames = reference(
        fit_image(load_image(picture).image, (settings.width, settings.height), "crop"), height=settings.height,
        width=settings.width, num_frames=3, num_inference_steps=4, min_guidance_scale=1.0, max_guidance_scale=1.0,
        fps=settings.fps, motion_bucket_id=127, noise_aug_strength=0.02, decode_chunk_size=settings.decode_chunk_size,
        generator=torch.Generator("cpu").manual_seed(21), output_type="np",
    ).frames[0]  # fmt: skip
    assert np.abs(result.frames.astype(int) - np.rint(frames * 255).astype(int)).max() <= 1


def test_svd_xt_from_the_same_cache_keeps_its_own_unet_and_euler(turbo_hub, picture):
    engine = Engine(device="cpu", default_model="svd-xt")
    pipe = engine.load().pipe
    assert isinstance(pipe.scheduler, EulerDiscreteScheduler)
    assert not torch.equal(pipe.unet.conv_in.weight, load_file(turbo_hub)["conv_in.weight"].float())
    request = GenerationRequest(image=load_image(picture), num_frames=2, num_inference_steps=1, size=TURBO_SIZE)
    result = engine.generate(request)
    assert (result.settings.max_guidance_scale, result.notice) == (3.0, None)


def test_turbo_takes_at_most_40_steps(turbo, picture):
    with pytest.raises(InputError, match=r"steps 41 is more than svd-xt-turbo takes: use 1 to 40"):
        turbo.prepare(GenerationRequest(image=load_image(picture), num_inference_steps=41))


def test_turbo_from_the_command_line(turbo_hub, picture, tmp_path, capsys):
    out = tmp_path / "fast"
    code, _, errors = run_svd_here(capsys, "generate", str(picture), "-o", str(out), "--model", "svd-xt-turbo",
                                   "--device", "cpu", "--frames", "2", "--seed", "3", "--size", "256x128")  # fmt: skip
    assert code == 0, errors
    record = json.loads(out.with_suffix(".json").read_text())
    assert (record["model"], record["num_inference_steps"], record["max_guidance_scale"]) == ("svd-xt-turbo", 4, 1.0)
    assert "note: Turbo" in errors
