"""The engine against diffusers' own pipeline: same frames for the same seed, and correct behaviour around it."""

from __future__ import annotations

import shutil
import threading

import numpy as np
import pytest
import torch
from conftest import gradient
from diffusers import StableVideoDiffusionPipeline
from PIL import Image

from svd import engine as engine_module
from svd.engine import Engine
from svd.errors import CancelledError, InputError, ModelError, OutOfMemoryError
from svd.input.image import load_image
from svd.models import memory
from svd.request import GenerationRequest

QUICK = dict(num_frames=4, num_inference_steps=2)
"""Small enough for a 2-core CPU; every other setting keeps the model's default."""


def request_for(picture, **settings) -> GenerationRequest:
    return GenerationRequest(image=load_image(picture), **{**QUICK, **settings})


def reference_frames(model_folder, variant, picture, **call) -> np.ndarray:
    """What diffusers' pipeline, called directly as its documentation shows, makes with the same settings."""
    pipe = StableVideoDiffusionPipeline.from_pretrained(model_folder, variant=variant, dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    frames = pipe(Image.open(picture).convert("RGB"), **call).frames[0]
    return np.stack([np.asarray(frame) for frame in frames])


@pytest.mark.parametrize("variant", [None, "fp16"])
def test_frames_equal_the_reference_pipeline(request, picture, variant):
    folder = request.getfixturevalue("tiny_model_fp16" if variant else "tiny_model")
    settings = dict(
        num_frames=5,
        num_inference_steps=3,
        fps=9,
        motion_bucket_id=90,
        noise_aug_strength=0.05,
        min_guidance_scale=1.2,
        max_guidance_scale=2.5,
        decode_chunk_size=2,
        seed=1234,
    )
    engine = Engine(device="cpu", default_model=str(folder))
    result = engine.generate(GenerationRequest(image=load_image(picture), **settings))
    assert engine.loaded is not None and engine.loaded.variant == variant

    seed = settings.pop("seed")
    expected = reference_frames(
        folder, variant, picture, height=144, width=256, generator=torch.Generator("cpu").manual_seed(seed), **settings
    )
    assert result.frames.shape == (5, 144, 256, 3) and result.frames.dtype == np.uint8
    assert np.array_equal(result.frames, expected)


def test_same_seed_same_frames_other_seed_other_frames(engine, picture):
    first = engine.generate(request_for(picture, seed=7))
    again = engine.generate(request_for(picture, seed=7))
    other = engine.generate(request_for(picture, seed=8))
    assert np.array_equal(first.frames, again.frames)
    assert not np.array_equal(first.frames, other.frames)


def test_missing_seed_is_drawn_and_reported(engine, picture):
    seeds = {engine.generate(request_for(picture, seed=seed, num_frames=2)).settings.seed for seed in (None, -1)}
    assert len(seeds) == 2 and all(0 <= seed < 2**32 for seed in seeds)


def test_fps_motion_and_noise_reach_the_model(engine, picture):
    """The UNet is conditioned on fps - 1 (as SVD was trained), the motion bucket and the noise augmentation."""
    engine.load()
    seen = []
    handle = engine.loaded.pipe.unet.register_forward_pre_hook(
        lambda module, args, kwargs: seen.append(kwargs["added_time_ids"].clone()), with_kwargs=True
    )
    try:
        result = engine.generate(request_for(picture, fps=12, motion_bucket_id=200, noise_aug_strength=0.1))
    finally:
        handle.remove()
    assert result.settings.fps == 12
    assert len(seen) == 2
    assert torch.allclose(seen[0][0], torch.tensor([11.0, 200.0, 0.1]))


def test_defaults_come_from_the_model(engine, picture):
    result = engine.generate(GenerationRequest(image=load_image(picture), seed=1))
    settings = result.settings
    assert (settings.num_frames, settings.num_inference_steps, settings.fps) == (8, 4, 7)
    assert (settings.motion_bucket_id, settings.noise_aug_strength) == (127, 0.02)
    assert result.frames.shape == (8, 144, 256, 3)
    assert result.notice and "noise" in result.notice


def test_picture_is_sized_to_its_bucket(engine, tmp_path):
    portrait = tmp_path / "portrait.png"
    Image.fromarray(gradient((300, 420))).save(portrait)
    result = engine.generate(request_for(portrait, num_frames=2, num_inference_steps=1))
    assert (result.settings.width, result.settings.height) == (160, 224)
    assert result.frames.shape[1:3] == (224, 160)
    forced = engine.generate(request_for(portrait, num_frames=2, num_inference_steps=1, size=(250, 150)))
    assert forced.frames.shape[1:3] == (144, 256)


def test_timings_cover_every_stage(engine, picture):
    result = engine.generate(request_for(picture))
    for stage in ("image_encoder", "vae_encode", "denoise", "vae_decode", "pipeline"):
        assert result.timings[stage] > 0
    assert len(result.step_seconds) == 2
    assert result.peak_vram_bytes is None and result.device == "cpu" and result.dtype == "float32"


def test_progress_reports_every_step_with_an_eta(engine, picture):
    updates = []
    engine.generate(request_for(picture, num_inference_steps=3), progress=updates.append)
    assert updates[0].stage == "encoding" and updates[0].step == 0
    steps = [update for update in updates if update.step > 0]
    assert [update.step for update in steps] == [1, 2, 3]
    assert all(update.total == 3 and update.eta_seconds >= 0 for update in steps)
    assert steps[-1].stage == "decoding"


def test_cancel_from_another_thread_stops_within_one_step(engine, picture):
    engine.load()
    first_step, cancel = threading.Event(), threading.Event()
    calls = []
    handle = engine.loaded.pipe.unet.register_forward_hook(lambda *args: calls.append(1))
    outcome = {}

    def run():
        try:
            engine.generate(
                request_for(picture, num_inference_steps=20), progress=lambda u: first_step.set(), cancel=cancel
            )
        except CancelledError as error:
            outcome["error"] = error

    worker = threading.Thread(target=run)
    try:
        worker.start()
        assert first_step.wait(60)
        cancel.set()
        worker.join(60)
    finally:
        handle.remove()
    assert isinstance(outcome.get("error"), CancelledError)
    assert len(calls) <= 3  # the step running when Cancel was pressed finishes; no further step starts
    assert engine.generate(request_for(picture)).frames.shape[0] == 4


@pytest.mark.parametrize(
    ("profile", "chunk", "advice"),
    [
        ("full", 4, "try the 'balanced' memory profile, or a smaller decode chunk (now 4), or fewer frames"),
        ("low", 1, "try fewer frames or a smaller size"),
    ],
)
def test_out_of_memory_is_a_clear_error_and_the_engine_recovers(monkeypatch, engine, picture, profile, chunk, advice):
    monkeypatch.setattr(engine_module, "choose_profile", lambda requested, device, *needs: profile)
    engine.load()

    def exhaust(module, args):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    handle = engine.loaded.pipe.unet.register_forward_pre_hook(exhaust)
    try:
        with pytest.raises(OutOfMemoryError) as caught:
            engine.generate(request_for(picture, decode_chunk_size=chunk))
    finally:
        handle.remove()
    message = str(caught.value)
    assert message.startswith("the GPU ran out of memory generating (256x144, 4 frames")
    assert advice in message and "\n" not in message
    assert engine.generate(request_for(picture)).frames.shape[0] == 4


def test_bad_settings_fail_before_loading(picture, tiny_model):
    engine = Engine(device="cpu", default_model=str(tiny_model))
    for bad in (dict(num_frames=1), dict(motion_bucket_id=300), dict(fps=0), dict(memory="huge"), dict(seed=2**40)):
        with pytest.raises(InputError):
            engine.generate(request_for(picture, **bad))
    assert engine.loaded is None


def test_memory_profile_is_ignored_on_cpu_and_recorded_as_cpu(engine, picture):
    settings = engine.prepare(request_for(picture, memory="low", num_frames=14))
    assert settings.memory_profile == "cpu" and settings.decode_chunk_size == 8


@pytest.mark.parametrize(
    ("available_gib", "expected"),
    [(23.5, "full"), (18.5, "full"), (15.5, "balanced"), (11.5, "balanced"), (7.5, "low")],
)
def test_auto_profile_follows_gpu_memory(monkeypatch, available_gib, expected):
    monkeypatch.setattr(memory, "available_gpu_bytes", lambda device: int(available_gib * 1024**3))
    assert memory.choose_profile("auto", torch.device("cuda")) == expected
    assert memory.choose_profile("low", torch.device("cuda")) == "low"


def test_requesting_cuda_without_a_gpu_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(InputError, match="no CUDA GPU is visible"):
        Engine(device="cuda")


def test_background_load_reports_ready_also_when_the_model_is_already_loaded(engine):
    engine.load()
    engine.load_in_background().join(60)
    assert engine.status.state == "ready" and "produces noise" in engine.status.message
    engine.load_in_background().join(60)  # the same model again: nothing to load, and still ready
    assert engine.status.state == "ready"


def test_loading_a_folder_that_is_not_a_model_reports_failure(tmp_path):
    broken = Engine(device="cpu", default_model=str(tmp_path))
    broken.load_in_background().join(60)
    assert broken.status.state == "failed" and "is not a model folder" in broken.status.message
    assert "expected a Stable Video Diffusion pipeline or a Wan pipeline" in broken.status.advice


def test_a_failed_request_for_another_model_keeps_the_loaded_one_ready(engine, picture, tmp_path):
    loaded = engine.load()
    for other in ("svd-xt-1.1", str(tmp_path)):  # neither in the cache nor on the (fake) Hub; a folder, no model
        with pytest.raises(ModelError):
            engine.generate(request_for(picture, model=other))
        assert engine.loaded is loaded and engine.status.state == "ready"
        assert "produces noise" in engine.status.message  # the loaded model's own status, not the request's error
    assert engine.generate(request_for(picture)).frames.shape[0] == 4


def test_switching_models_replaces_the_old_one_only_once_the_new_one_has_loaded(engine, tiny_model_fp16, picture):
    before = engine.load()
    try:
        switched = engine.load(str(tiny_model_fp16))
        assert switched.variant == "fp16" and engine.loaded is switched and before is not switched
        assert engine.status.state == "ready" and engine.status.message.startswith(f"{tiny_model_fp16.name} is ready")
    finally:
        engine.load()  # back to the session's model
    assert engine.loaded.variant is None


def test_the_servers_own_model_failing_is_reported_with_advice_and_a_retry_loads_it(tiny_model, tmp_path):
    folder = tmp_path / "later"
    engine = Engine(device="cpu", default_model=str(folder))
    engine.load_in_background().join(60)
    assert engine.status.state == "failed" and engine.status.message == f"unknown model '{folder}'"
    assert engine.status.advice.startswith("use one of svd, svd-xt, svd-xt-1.1")
    shutil.copytree(tiny_model, folder)  # the operator puts the model in place, then presses Retry
    engine.load_in_background().join(60)
    assert engine.status.state == "ready" and engine.status.advice is None


def test_size_is_capped_by_the_models_limits(engine, picture):
    for size in ((5000, 144), (512, 512), (8192, 8192)):  # the tiny model: 512 px a side, 1.6x 256x144 pixels
        with pytest.raises(InputError, match=rf"size {size[0]}x{size[1]} is too large: use auto or at most 512 px"):
            engine.prepare(request_for(picture, size=size))
    largest = engine.prepare(request_for(picture, size=(320, 176)))
    assert (largest.width, largest.height, largest.size_choice) == (320, 176, "320x176")
    assert engine.prepare(request_for(picture)).size_choice == "auto"


def test_only_minus_one_means_a_random_seed_and_errors_show_plain_numbers(engine, picture):
    with pytest.raises(InputError) as negative:
        engine.prepare(request_for(picture, seed=-5))
    assert str(negative.value) == "seed -5 is out of range: use a value from 0 to 4294967295, or -1 for a random one"
    with pytest.raises(InputError, match=r"^seed 4294967296 is out of range: use a value from 0 to 4294967295"):
        engine.prepare(request_for(picture, seed=2**32))
    with pytest.raises(InputError) as huge:
        engine.prepare(request_for(picture, seed=10**300))
    assert str(huge.value).startswith("seed 1000… (301 digits) is out of range") and len(str(huge.value)) < 120
