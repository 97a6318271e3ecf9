"""One run of diffusers' StableVideoDiffusionPipeline for one or more seeds: the camera stage's starting point,
progress and cancelling through the step callback, out-of-memory turned into advice, and the time and peak memory of
each stage.

Several seeds run as one batch, exactly as if each ran alone: the picture is passed once per video with one
generator each (the pipeline then draws each video's noise augmentation and starting noise from its own generator,
in the order a single run does), and each video's latents are decoded on their own, since the pipeline's decode
chunks would otherwise mix frames of two videos in one pass of the temporal decoder.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

import numpy as np
import torch
from diffusers import StableVideoDiffusionPipeline
from PIL import Image

from ...errors import CancelledError, OutOfMemoryError
from ...models.memory import out_of_memory_message
from ...models.speed import SpeedOptions, attention_context
from ...request import GenerationSettings
from ...results import Progress
from ..camera import CameraRun, run_camera_stage
from ..family import Animation, Cancelled, RunContext
from ..timing import StageTimer
from .consistency import ConsistencySVDScheduler
from .guide_start import start_from_guide
from .preview import denoised_latents


def animate(
    pipe: StableVideoDiffusionPipeline,
    picture: Image.Image,
    settings: GenerationSettings,
    seeds: list[int],
    run: RunContext,
) -> Animation:
    """Animate `picture` (already at the settings' size) once per seed, in one batch. A shape the model's compiled
    parts have not run at (`run.compiled`) is announced, since it compiles first."""
    total = settings.num_inference_steps
    index, count = run.segment
    device, speed, compiled = run.device, run.speed, run.compiled
    stages = {"image_encoder": pipe.image_encoder, "vae_encode": pipe.vae.encoder, "denoise": pipe.unet}
    timer = StageTimer({**stages, "vae_decode": pipe.vae.decoder}, device)
    step_times = timer.calls["denoise"]

    def on_step_end(pipeline, step, timestep, callback_kwargs):
        run.step_done(
            step + 1, total, step_times, lambda: denoised.latents[0] if denoised.latents is not None else None
        )
        return callback_kwargs

    run.check_not_cancelled()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    shape = _compiled_shape(settings, len(seeds), speed)
    compiling = speed.compiles and shape not in compiled.seen
    run.report(Progress("encoding", index * total, count * total, None, compiled.note if compiling else None))
    failure: str | None = None
    started = time.perf_counter()
    try:
        cameras = [
            run_camera_stage(pipe, picture, replace(settings, seed=seed), run.disparity, start_from_guide)
            for seed in seeds
        ]
        starting_point = _batched_start(cameras)
        total = len(starting_point["sigmas"]) - 1 if starting_point else total
        if isinstance(pipe.scheduler, ConsistencySVDScheduler):
            pipe.scheduler.seed_step_noise(seeds)
        with timer, attention_context(speed), _stopped_by(run.cancel, pipe), denoised_latents(pipe) as denoised:
            latents = _denoise(pipe, picture, settings, seeds, on_step_end, starting_point)
            frames = [_decode(pipe, latents[video : video + 1], settings) for video in range(len(seeds))]
        if compiling:
            compiled.record(shape, {stage: timer.calls[stage] for stage in speed.compiled_stages})
    except torch.cuda.OutOfMemoryError:
        failure = "out of memory"
    except Cancelled:
        failure = "cancelled"
    finally:
        pipe.maybe_free_model_hooks()
    if failure is not None:
        if failure == "cancelled":
            raise CancelledError(f"cancelled after {index * total + len(step_times)} of {count * total} steps")
        raise out_of_memory(settings, "generating")
    seconds = time.perf_counter() - started
    peaks = (None, None)
    if device.type == "cuda":
        peaks = (torch.cuda.max_memory_allocated(device), torch.cuda.max_memory_reserved(device))
    return Animation(frames, timer, step_times, seconds, peaks, cameras)


def _denoise(
    pipe: StableVideoDiffusionPipeline,
    picture: Image.Image,
    settings: GenerationSettings,
    seeds: list[int],
    on_step_end: Callable,
    starting_point: dict,
) -> torch.Tensor:
    """The pipeline's denoising for one video per seed, stopping at the latents (the decode is ours, per video)."""
    return pipe(
        image=[picture] * len(seeds),
        height=settings.height,
        width=settings.width,
        num_frames=settings.num_frames,
        num_inference_steps=settings.num_inference_steps,
        min_guidance_scale=settings.min_guidance_scale,
        max_guidance_scale=settings.max_guidance_scale,
        fps=settings.fps,
        motion_bucket_id=settings.motion_bucket_id,
        noise_aug_strength=settings.noise_aug_strength,
        decode_chunk_size=settings.decode_chunk_size,
        generator=[torch.Generator("cpu").manual_seed(seed) for seed in seeds],
        output_type="latent",
        callback_on_step_end=on_step_end,
        **starting_point,
    ).frames


@contextlib.contextmanager
def _stopped_by(cancel: threading.Event | None, pipe: StableVideoDiffusionPipeline) -> Iterator[None]:
    """Stop the run at the next call of any of the pipeline's models once `cancel` is set: between the VAE decode's
    chunks too, where the step callback no longer runs."""
    if cancel is None:
        yield
        return

    def check(module, args) -> None:
        if cancel.is_set():
            raise Cancelled

    models = (pipe.image_encoder, pipe.vae.encoder, pipe.unet, pipe.vae.decoder)
    handles = [model.register_forward_pre_hook(check) for model in models]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def _compiled_shape(settings: GenerationSettings, videos: int, speed: SpeedOptions) -> tuple:
    """What the compiled parts' input shapes depend on: a run that changes any of it compiles again."""
    guided = settings.max_guidance_scale > 1
    shape = (videos, settings.height, settings.width, settings.num_frames, guided)
    return shape + (settings.decode_chunk_size,) * speed.compile_vae  # the decoder's input is one chunk of frames


def _batched_start(cameras: list[CameraRun | None]) -> dict:
    """The camera stage's pipeline arguments for the batch: each video's starting latents, one after another."""
    arguments = [camera.pipeline_arguments for camera in cameras if camera is not None and camera.pipeline_arguments]
    if not arguments:
        return {}
    return {"latents": torch.cat([each["latents"] for each in arguments]), "sigmas": arguments[0]["sigmas"]}


@torch.no_grad()
def _decode(pipe: StableVideoDiffusionPipeline, latents: torch.Tensor, settings: GenerationSettings) -> np.ndarray:
    """One video's frames as the pipeline itself decodes and post-processes them, as (F, H, W, 3) uint8: the same
    rounding as its PIL output (x * 255, rounded), done on the device, so only bytes come back to the CPU."""
    decoded = pipe.decode_latents(latents, settings.num_frames, settings.decode_chunk_size)
    pixels = pipe.video_processor.postprocess_video(video=decoded, output_type="pt")[0]
    return (pixels * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def out_of_memory(settings: GenerationSettings, doing: str) -> OutOfMemoryError:
    size = (settings.width, settings.height)
    return OutOfMemoryError(
        out_of_memory_message(doing, size, settings.num_frames, settings.memory_profile, settings.decode_chunk_size)
    )
