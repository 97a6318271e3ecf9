"""The finishing stages after the pipeline, in order: interpolate -> upscale -> loop. (Extend runs before them, in
the engine, because it animates more segments.) A stage that is off passes the frames through untouched."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..cancel import Cancel
from ..media.frames import Frames
from .loop import make_loop
from .models import FinishModels
from .options import FinishOptions, upscaled_size


@dataclass
class Finished:
    frames: Frames
    """Upscaled and looped frames are made as the writer reads them."""
    fps: int
    """The written file's frame rate: the conditioning fps times the interpolation factor."""
    timings: dict[str, float] = field(default_factory=dict)
    interpolation_method: str | None = None
    notes: list[str] = field(default_factory=list)


def run_finishing(
    frames: np.ndarray, fps: int, options: FinishOptions, models: FinishModels, cancel: Cancel | None = None
) -> Finished:
    """The finished frames. Interpolation runs now; the upscale and the loop are set up here and run frame by frame
    as the video is written (their timings then count in its encode)."""
    finished = Finished(frames, fps)
    if options.interpolate > 1:
        started = time.perf_counter()
        interpolated = models.interpolate(frames, options.interpolate, fps, cancel)
        finished.frames, finished.fps = interpolated.frames, fps * options.interpolate
        finished.interpolation_method = interpolated.method
        finished.notes += [interpolated.note] if interpolated.note else []
        finished.timings["finish_interpolate"] = time.perf_counter() - started
    if options.upscale != "none":
        started = time.perf_counter()
        height, width = finished.frames.shape[1:3]
        size = upscaled_size(width, height, options.upscale)
        finished.frames = models.upscale(finished.frames, size, options.upscaler)
        finished.timings["finish_upscale"] = time.perf_counter() - started
    if options.loop != "none":
        started = time.perf_counter()
        finished.frames = make_loop(finished.frames, options.loop, finished.fps)
        finished.timings["finish_loop"] = time.perf_counter() - started
    return finished
