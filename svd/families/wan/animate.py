"""One run of diffusers' WanImageToVideoPipeline per seed: the prompt that describes the motion, a camera move's
start from its guide, progress, cancelling and live previews through the step callback, out-of-memory turned into
advice, and the time and peak memory of each stage. Seeds run one after another, each exactly as a direct call of
the pipeline with that seed makes it.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import torch
from diffusers import WanImageToVideoPipeline
from PIL import Image

from ...errors import CancelledError, OutOfMemoryError
from ...models.memory import out_of_memory_message
from ...request import GenerationSettings
from ...results import Progress
from ..camera import run_camera_stage
from ..family import Animation, Cancelled, RunContext
from ..timing import StageTimer
from .guide_start import skipping, start_from_guide


def animate(
    pipe: WanImageToVideoPipeline,
    picture: Image.Image,
    settings: GenerationSettings,
    seeds: list[int],
    run: RunContext,
) -> Animation:
    """Animate `picture` (already at the settings' size) once per seed, one after another, each from its camera
    stage's start when there is a move. SVD's speed options are not used."""
    device = run.device
    stages = {"text_encoder": pipe.text_encoder, "image_encoder": pipe.image_encoder}
    denoisers = (pipe.transformer, pipe.transformer_2)
    timer = StageTimer({**stages, "denoise": denoisers, "vae_decode": pipe.vae.decoder}, device)
    step_times: list[float] = []
    run.check_not_cancelled()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    frames, cameras = [], []
    started = time.perf_counter()
    try:
        for position, seed in enumerate(seeds):
            settings_of_seed = replace(settings, seed=seed)
            camera = run_camera_stage(pipe, picture, settings_of_seed, run.disparity, start_from_guide)
            start = camera.pipeline_arguments if camera is not None else {}
            total = settings.num_inference_steps - start.get("skip", 0)
            index, count = run.segment
            one = replace(run, segment=(index * len(seeds) + position, count * len(seeds)))
            one.report(Progress("encoding", one.segment[0] * total, one.segment[1] * total))
            with timer, skipping(pipe, start.get("skip", 0)):
                on_step_end = _step_callback(pipe, total, step_times, one)
                frames.append(_call(pipe, picture, settings_of_seed, start.get("latents"), on_step_end))
            cameras.append(camera)
    except torch.cuda.OutOfMemoryError:
        raise out_of_memory(settings) from None
    except Cancelled:
        raise CancelledError(f"cancelled after {len(step_times)} steps") from None
    finally:
        pipe.maybe_free_model_hooks()
    peaks = (None, None)
    if device.type == "cuda":
        peaks = (torch.cuda.max_memory_allocated(device), torch.cuda.max_memory_reserved(device))
    return Animation(frames, timer, step_times, time.perf_counter() - started, peaks, cameras)


def _call(
    pipe: WanImageToVideoPipeline,
    picture: Image.Image,
    settings: GenerationSettings,
    latents: torch.Tensor | None,
    on_step_end,
) -> np.ndarray:
    """The pipeline for the settings' seed, as its documentation calls it (`latents`: a camera move's start), with
    its frames rounded to bytes as its PIL output rounds them (x 255, rounded)."""
    two_experts = pipe.config.boundary_ratio is not None
    output = pipe(
        image=picture,
        prompt=settings.prompt or "",
        negative_prompt=settings.negative_prompt,
        height=settings.height,
        width=settings.width,
        num_frames=settings.num_frames,
        num_inference_steps=settings.num_inference_steps,
        guidance_scale=settings.max_guidance_scale,
        guidance_scale_2=settings.guidance_scale_2 if two_experts else None,
        generator=torch.Generator("cpu").manual_seed(settings.seed),
        latents=latents,
        output_type="np",
        callback_on_step_end=on_step_end,
    )
    return (output.frames[0] * 255).round().astype(np.uint8)


def _step_callback(pipe: WanImageToVideoPipeline, total: int, step_times: list[float], run: RunContext):
    """The pipeline's step callback: each step's time, then `run.step_done`, with UniPC's estimate of the clean
    latents (it keeps its last in `model_outputs`) for a preview."""
    last = [time.perf_counter()]

    def estimate() -> torch.Tensor | None:
        kept = getattr(pipe.scheduler, "model_outputs", None) or [None]
        return kept[-1][0].transpose(0, 1) if kept[-1] is not None else None  # (frames, channels, h, w)

    def on_step_end(pipeline, step, timestep, callback_kwargs):
        now = time.perf_counter()
        step_times.append(now - last[0])
        last[0] = now
        run.step_done(step + 1, total, step_times, estimate)
        return callback_kwargs

    return on_step_end


def out_of_memory(settings: GenerationSettings) -> OutOfMemoryError:
    size = (settings.width, settings.height)
    return OutOfMemoryError(out_of_memory_message("generating", size, settings.num_frames, settings.memory_profile, 1))
