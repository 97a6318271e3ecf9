"""One run of diffusers' WanImageToVideoPipeline per seed: the prompt that describes the motion, progress, cancelling
and live previews through the step callback, out-of-memory turned into advice, and the time and peak memory of each
stage. Seeds run one after another, each exactly as a direct call of the pipeline with that seed makes it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np
import torch
from diffusers import WanImageToVideoPipeline
from PIL import Image

from ...camera.moves import NO_CAMERA
from ...errors import CancelledError, InputError, OutOfMemoryError
from ...models.memory import out_of_memory_message
from ...models.speed import CompiledShapes, SpeedOptions
from ...preview import Previews
from ...request import GenerationSettings
from ...results import Progress
from ..family import Animation
from ..timing import StageTimer

ProgressCallback = Callable[[Progress], None]


def animate(
    pipe: WanImageToVideoPipeline,
    picture: Image.Image,
    settings: GenerationSettings,
    seeds: list[int],
    *,
    device: torch.device,
    speed: SpeedOptions,
    compiled: CompiledShapes,
    disparity: Callable[[Image.Image], np.ndarray],
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    segment: tuple[int, int] = (0, 1),
    decode_steps: float = 1.0,
    previews: Previews | None = None,
) -> Animation:
    """Animate `picture` (already at the settings' size) once per seed. As run (index, count) of a longer job,
    progress counts the steps of all runs. Wan has no camera stage yet, and `speed`, `compiled` and `disparity`
    (SVD's) are not used."""
    if settings.camera != NO_CAMERA:
        raise InputError("camera moves are not available for Wan models yet", "choose None (free), or an SVD model")
    total = settings.num_inference_steps
    index, count = segment[0] * len(seeds), segment[1] * len(seeds)
    report = progress or (lambda update: None)
    timer = StageTimer(
        {
            "text_encoder": pipe.text_encoder,
            "image_encoder": pipe.image_encoder,
            "denoise": (pipe.transformer, pipe.transformer_2),
            "vae_decode": pipe.vae.decoder,
        },
        device,
    )
    step_times: list[float] = []
    if cancel is not None and cancel.is_set():
        raise CancelledError("cancelled before it started")
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    frames = []
    started = time.perf_counter()
    try:
        with timer:
            for run, seed in enumerate(seeds, start=index):
                run_step = _step_callback(
                    pipe, settings, (run, count), step_times, decode_steps, previews, report, cancel
                )
                report(Progress("encoding", run * total, count * total))
                frames.append(_call(pipe, picture, settings, seed, run_step))
    except torch.cuda.OutOfMemoryError:
        raise out_of_memory(settings) from None
    except _Cancelled:
        raise CancelledError(f"cancelled after {len(step_times)} of {count * total} steps") from None
    finally:
        pipe.maybe_free_model_hooks()
    peaks = (None, None)
    if device.type == "cuda":
        peaks = (torch.cuda.max_memory_allocated(device), torch.cuda.max_memory_reserved(device))
    return Animation(frames, timer, step_times, time.perf_counter() - started, peaks, [None] * len(seeds))


def _call(pipe: WanImageToVideoPipeline, picture: Image.Image, settings: GenerationSettings, seed: int, on_step_end):
    """The pipeline for one seed, as its documentation calls it, with its frames rounded to bytes as its PIL output
    rounds them (x 255, rounded)."""
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
        generator=torch.Generator("cpu").manual_seed(seed),
        output_type="np",
        callback_on_step_end=on_step_end,
    )
    return (output.frames[0] * 255).round().astype(np.uint8)


def _step_callback(pipe, settings, run: tuple[int, int], step_times, decode_steps, previews, report, cancel):
    """The pipeline's step callback for run (index, count): cancelling, each step's time, progress with the time
    left, and a preview when one is due (from the scheduler's estimate of the clean latents: UniPC keeps it)."""
    total = settings.num_inference_steps
    index, count = run
    last = [time.perf_counter()]

    def on_step_end(pipeline, step, timestep, callback_kwargs):
        if cancel is not None and cancel.is_set():
            raise _Cancelled
        now = time.perf_counter()
        step_times.append(now - last[0])
        last[0] = now
        done = step + 1
        left = total - done + decode_steps + (count - index - 1) * (total + decode_steps)
        eta = sum(step_times) / len(step_times) * left
        stage = "denoising" if done < total else "decoding"
        estimate = (getattr(pipe.scheduler, "model_outputs", None) or [None])[-1]
        due = previews is not None and estimate is not None and previews.due(done, total)
        preview = previews.latent.frames(estimate[0].transpose(0, 1)) if due else None
        report(Progress(stage, index * total + done, count * total, eta, preview=preview))
        return callback_kwargs

    return on_step_end


class _Cancelled(Exception):
    """Raised inside the pipeline's step callback to stop the denoising loop."""


def out_of_memory(settings: GenerationSettings) -> OutOfMemoryError:
    size = (settings.width, settings.height)
    return OutOfMemoryError(out_of_memory_message("generating", size, settings.num_frames, settings.memory_profile, 1))
