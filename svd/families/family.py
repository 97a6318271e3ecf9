"""What a model family is to the engine: its pipeline class and what it does at each stage, so that the engine, the
stages and the UI ask the family and hold no branch of their own. Each family package builds one `Family`
(`svd.families.registry` lists them); what is known of it without loading anything is its `FamilyKind`
(`svd.models.entries`)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from diffusers import DiffusionPipeline
from PIL import Image

from ..errors import CancelledError
from ..models.entries import FamilyKind, ModelSource
from ..models.memory import Profile
from ..models.speed import CompiledShapes, SpeedOptions
from ..preview import LatentPreview, Previews
from ..results import Progress
from .timing import StageTimer


@dataclass(frozen=True)
class Family:
    kind: FamilyKind
    pipeline: type[DiffusionPipeline]
    gpu_dtype: torch.dtype
    """Its weights' type on a GPU (float16 for SVD; bfloat16 for Wan, which its weights are made for)."""
    adapt: Callable[..., None]
    """`adapt(pipe, source, reporter)`, once it is loaded: what its catalogue entry changes in the pipeline."""
    place: Callable[..., None]
    """`place(loaded, settings, device, speed)`: the models where the memory profile says, speed-ups applied."""
    animate: Callable[..., Animation]
    """`animate(pipe, picture, settings, seeds, run)`: the frames of one video per seed (`run`: a `RunContext`)."""
    fit_latent_preview: Callable[[DiffusionPipeline], LatentPreview]
    """The live previews' latent-to-RGB map, fitted from the pipeline's VAE (`svd.preview`)."""
    load_lora: Callable[[DiffusionPipeline, Path, str], None] = lambda pipe, path, adapter: pipe.load_lora_weights(
        str(path), adapter_name=adapter
    )
    """`load_lora(pipe, path, adapter)`: a LoRA file into its network, for a family whose kind has `lora_keys`."""


class Cancelled(Exception):
    """Raised inside a pipeline's step callback to stop its denoising loop (`RunContext.step_done`)."""


@dataclass(frozen=True)
class RunContext:
    """What the engine gives a family's run besides the pipeline, the picture, the settings and the seeds: where it
    runs, with which speed-ups (and the shapes compiled so far), depth for the camera stage, and how to report.
    As run `segment` (index, count) of a longer job (extended segments, variations run one by one), progress counts
    the steps of all runs; `decode_steps` is how many steps' time the VAE decode takes, for the time left."""

    device: torch.device
    speed: SpeedOptions
    compiled: CompiledShapes
    disparity: Callable[[Image.Image], np.ndarray]
    progress: Callable[[Progress], None] | None = None
    cancel: threading.Event | None = None
    segment: tuple[int, int] = (0, 1)
    decode_steps: float = 1.0
    previews: Previews | None = None
    """Report the first video's frames as the scheduler estimates them so far, every few steps."""
    last_frame: Image.Image | None = None
    """The picture the video should end on (already at the settings' size), for a model that takes one."""

    def report(self, update: Progress) -> None:
        if self.progress is not None:
            self.progress(update)

    def check_not_cancelled(self) -> None:
        """Before a run starts: a run cancelled meanwhile stops here."""
        if self.cancel is not None and self.cancel.is_set():
            raise CancelledError("cancelled before it started")

    def step_done(
        self, done: int, total: int, step_times: list[float], estimate: Callable[[], torch.Tensor | None]
    ) -> None:
        """From a step callback: stop if cancelled; else report step `done` of `total` with the time left, and a
        preview drawn from `estimate()` (the first video's clean latents, frames first) when one is due."""
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled
        index, count = self.segment
        left = total - done + self.decode_steps + (count - index - 1) * (total + self.decode_steps)
        eta = sum(step_times) / len(step_times) * left
        stage = "denoising" if done < total else "decoding"
        latents = estimate() if self.previews is not None and self.previews.due(done, total) else None
        preview = self.previews.latent.frames(latents) if latents is not None else None
        self.report(Progress(stage, index * total + done, count * total, eta, preview=preview))


@dataclass
class Animation:
    """What one pipeline run gave: each video's frames, its stage timer, its wall time, peak memory, and each video's
    camera stage."""

    frames: list[np.ndarray]
    timer: StageTimer
    step_seconds: list[float]
    """Each denoising step's time (for a guided step that calls the network twice, both calls)."""
    seconds: float
    peaks: tuple[int | None, int | None]
    cameras: list


@dataclass
class LoadedModel:
    source: ModelSource
    family: Family
    path: Path
    pipe: DiffusionPipeline
    variant: str | None
    load_seconds: float
    profile: Profile | None = None
    sped_up: bool = False
    """Whether the speed options are applied (once per loaded model)."""
    compiled: CompiledShapes = field(default_factory=CompiledShapes)
    preview: LatentPreview | None = None
    """The live previews' latent-to-RGB map for this model's VAE, fitted on first use."""
