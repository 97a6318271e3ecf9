"""What the engine reports: progress during a run, the state of its model, and a finished generation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from .input.image import InputImage
from .request import GenerationSettings


@dataclass(frozen=True)
class Progress:
    """A progress report: `stage` is encoding, denoising, decoding or finishing; `step` of `total` denoising steps
    (finishing has none: 0 of 0)."""

    stage: str
    step: int
    total: int
    eta_seconds: float | None = None
    note: str | None = None
    """Said instead of the stage when set: the warning that a run at a new size compiles first."""
    preview: np.ndarray | None = None
    """When the run asked for live previews and one is due: the first video's frames as denoised so far, small
    (frames, h, w, 3) uint8 RGB at the latents' size (`svd.preview`)."""


@dataclass(frozen=True)
class EngineStatus:
    """What the engine's model is doing. `failed` is only ever the server's own model failing with nothing loaded:
    a request for another model that fails gets the error itself and leaves the status as it was."""

    state: Literal["idle", "downloading", "loading", "ready", "failed"]
    message: str
    fraction: float | None = None
    advice: str | None = None
    """For `failed`: what to do about it."""
    loaded: str = ""
    """For `ready`: the model and where it runs, without "is ready" (what a busy page shows)."""


@dataclass
class GenerationResult:
    frames: np.ndarray
    """(frames, height, width, 3) uint8 RGB: the written video's."""
    settings: GenerationSettings
    input: InputImage
    timings: dict[str, float]
    step_seconds: list[float]
    peak_vram_bytes: int | None
    peak_vram_reserved_bytes: int | None
    device: str
    dtype: str
    notice: str | None = None
    guide: np.ndarray | None = None
    """The camera move's guide frames, when there is a move."""
    last_frame: InputImage | None = None
    """The picture the video was asked to end on, if any (kept beside the input picture)."""
    video_fps: int | None = None
    """The frame rate of the written video: the conditioning fps times the interpolation factor (None: the fps)."""
    segment_seeds: list[int] | None = None
    """The seed of each segment of an extended video."""
    interpolation_method: str | None = None
    """The RIFE weights or `minterpolate`, when the frames were interpolated."""
    notes: list[str] = field(default_factory=list)
    """What the user should know about how the video was made (a finishing model that was not available)."""
    finished_from: str | None = None
    """For a video finished again later: the sidecar of the video it was made from."""
    model_frames: np.ndarray | None = None
    """The model's own frames (extended, but before interpolation, upscaling and the loop), kept lossless beside
    the video: what finishing again starts from. None: none were kept (a video finished on top of an older one)."""
    worker: str = "0"
    """Which engine made it: its number among the process's (one per device), or the Ray replica's id."""
    speed: str = "plain"
    """The exact speed-ups it ran with (`SpeedOptions.describe`)."""
    cost_units: float | None = None
    """What the run that made it cost, in units of `svd.cost` (all its variations together)."""
    owner: str | None = None
    """The login that asked for it, on a server with logins: its videos are that user's (`svd.output.history`)."""
