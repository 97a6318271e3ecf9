"""The camera stage of a generation: the guide of the requested move and, unless its strength is 0, the
pipeline arguments (`latents=`, `sigmas=`) that start the denoising from it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from diffusers import StableVideoDiffusionPipeline
from PIL import Image

from ...camera.guide import Guide, render_guide
from ...camera.moves import MOVES, NO_CAMERA
from ...request import GenerationSettings
from .guide_start import guide_start

DisparityOf = Callable[[Image.Image], np.ndarray]


@dataclass(frozen=True)
class CameraRun:
    guide: Guide
    pipeline_arguments: dict = field(default_factory=dict)
    """Extra arguments for the pipeline call; none when the strength is 0 (plain SVD)."""
    timings: dict[str, float] = field(default_factory=dict)


def run_camera_stage(
    pipe: StableVideoDiffusionPipeline,
    picture: Image.Image,
    settings: GenerationSettings,
    disparity_of: DisparityOf,
) -> CameraRun | None:
    """The guide for `settings.camera` (None without a move) and where the denoising starts from it.
    `disparity_of(picture)` is asked only by moves that need depth."""
    if settings.camera == NO_CAMERA:
        return None
    timings: dict[str, float] = {}
    started = time.perf_counter()
    disparity = None
    if MOVES[settings.camera].needs_depth:
        disparity = disparity_of(picture)
        timings["camera_depth"] = time.perf_counter() - started
        started = time.perf_counter()
    amount, strength = settings.camera_amount, settings.camera_strength
    assert amount is not None and strength is not None
    guide = render_guide(picture, settings.camera, settings.num_frames, amount, settings.seed, disparity)
    timings["camera_guide"] = time.perf_counter() - started
    if strength == 0:
        return CameraRun(guide, timings=timings)
    started = time.perf_counter()
    steps, chunk = settings.num_inference_steps, settings.decode_chunk_size
    start = guide_start(pipe, guide.frames, strength, steps, settings.seed, chunk)
    timings["camera_encode"] = time.perf_counter() - started
    return CameraRun(guide, {"latents": start.latents, "sigmas": start.sigmas}, timings)
