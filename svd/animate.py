"""One run of diffusers' StableVideoDiffusionPipeline: the camera stage's starting point, progress and cancelling
through the step callback, out-of-memory turned into advice, and the time and peak memory of each stage."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from diffusers import StableVideoDiffusionPipeline
from PIL import Image

from .camera.stage import CameraRun, run_camera_stage
from .errors import CancelledError, OutOfMemoryError
from .memory import out_of_memory_message
from .request import GenerationSettings
from .results import Progress
from .speed import SpeedOptions, attention_context
from .timing import StageTimer

ProgressCallback = Callable[[Progress], None]


def animate(
    pipe: StableVideoDiffusionPipeline,
    picture: Image.Image,
    settings: GenerationSettings,
    *,
    device: torch.device,
    speed: SpeedOptions,
    disparity: Callable[[Image.Image], np.ndarray],
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    segment: tuple[int, int] = (0, 1),
    decode_steps: float = 1.0,
) -> Animation:
    """Animate `picture` (already at the settings' size). As segment (index, count) of an extended video, progress
    counts the steps of all segments; `decode_steps` is how many steps' time the VAE decode takes, for the ETA."""
    total = settings.num_inference_steps
    index, count = segment
    report = progress or (lambda update: None)
    timer = StageTimer(pipe, device)
    step_times = timer.calls["unet"]

    def on_step_end(pipeline, step, timestep, callback_kwargs):
        if cancel is not None and cancel.is_set():
            raise Cancelled
        done = step + 1
        left = total - done + decode_steps + (count - index - 1) * (total + decode_steps)
        eta = sum(step_times) / len(step_times) * left
        stage = "denoising" if done < total else "decoding"
        report(Progress(stage, index * total + done, count * total, eta))
        return callback_kwargs

    if cancel is not None and cancel.is_set():
        raise CancelledError("cancelled before it started")
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    report(Progress("encoding", index * total, count * total, None))
    failure: str | None = None
    started = time.perf_counter()
    try:
        camera = run_camera_stage(pipe, picture, settings, disparity)
        starting_point = camera.pipeline_arguments if camera else {}
        total = len(starting_point["sigmas"]) - 1 if starting_point else total
        with timer, attention_context(speed):
            output = pipe(
                image=picture,
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
                generator=torch.Generator("cpu").manual_seed(settings.seed),
                output_type="pil",
                callback_on_step_end=on_step_end,
                **starting_point,
            )
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
    frames = np.stack([np.asarray(frame) for frame in output.frames[0]])
    peaks = (None, None)
    if device.type == "cuda":
        peaks = (torch.cuda.max_memory_allocated(device), torch.cuda.max_memory_reserved(device))
    return Animation(frames, timer, seconds, peaks, camera)


@dataclass
class Animation:
    """What one pipeline run gave: frames, its stage timer, its wall time, peak memory, and the camera stage."""

    frames: np.ndarray
    timer: StageTimer
    seconds: float
    peaks: tuple[int | None, int | None]
    camera: CameraRun | None


class Cancelled(Exception):
    """Raised inside the pipeline's step callback to stop the denoising loop."""


def out_of_memory(settings: GenerationSettings, doing: str) -> OutOfMemoryError:
    size = (settings.width, settings.height)
    return OutOfMemoryError(
        out_of_memory_message(doing, size, settings.num_frames, settings.memory_profile, settings.decode_chunk_size)
    )
