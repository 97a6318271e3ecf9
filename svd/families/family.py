"""What a model family is to the engine: its pipeline class and what it does at each stage, so that the engine, the
stages and the UI ask the family and hold no branch of their own. Each family package builds one `Family`
(`svd.families.registry` lists them); what is known of it without loading anything is its `FamilyKind`
(`svd.models.entries`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from diffusers import DiffusionPipeline

from ..models.catalogue import ModelSource
from ..models.entries import FamilyKind
from ..models.memory import Profile
from ..models.speed import CompiledShapes
from ..preview import LatentPreview
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
    """`animate(pipe, picture, settings, seeds, **stage)`: one run, for one or more seeds (svd.engine passes the
    stage's arguments: device, speed, compiled, disparity, progress, cancel, segment, decode_steps, previews)."""
    fit_latent_preview: Callable[[DiffusionPipeline], LatentPreview]
    """The live previews' latent-to-RGB map, fitted from the pipeline's VAE (`svd.preview`)."""


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
