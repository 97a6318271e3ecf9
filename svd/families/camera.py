"""The camera stage of a generation, for every family: the guide of the requested move and, unless its strength is
0, the pipeline arguments that start the denoising from it, which the family's `start_from` makes (SVD: `latents=`
and `sigmas=`, its EDM noise; Wan: `latents=` in flow-matching form and the steps to skip)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from diffusers import DiffusionPipeline
from PIL import Image

from ..camera.guide import Guide, render_guide
from ..camera.moves import MOVES, NO_CAMERA
from ..request import GenerationSettings

DisparityOf = Callable[[Image.Image], np.ndarray]
StartFrom = Callable[[DiffusionPipeline, np.ndarray, float, int, int, int], dict]
"""`start_from(pipe, guide_frames, strength, steps, seed, decode_chunk)`: the pipeline arguments of a start from the
guide."""


@dataclass(frozen=True)
class CameraRun:
    guide: Guide
    pipeline_arguments: dict = field(default_factory=dict)
    """Extra arguments for the pipeline call; none when the strength is 0 (the plain model)."""
    timings: dict[str, float] = field(default_factory=dict)


def run_camera_stage(
    pipe: DiffusionPipeline,
    picture: Image.Image,
    settings: GenerationSettings,
    disparity_of: DisparityOf,
    start_from: StartFrom,
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
    arguments = start_from(pipe, guide.frames, strength, steps, settings.seed, chunk)
    timings["camera_encode"] = time.perf_counter() - started
    return CameraRun(guide, arguments, timings)
