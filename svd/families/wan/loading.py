"""Wan once loaded: its schedule's shift as its catalogue entry states it, and its models placed for a memory
profile as the flow-matching families place theirs (`svd.families.flow.place_flow_pipeline`: `full` on the GPU in
bf16, `balanced` both experts stored in fp8 with model offload, `low` group offloading and a tiled VAE decode)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
from diffusers import UniPCMultistepScheduler, WanImageToVideoPipeline

from ...models.download import ProgressReport
from ...models.entries import ModelSource
from ...models.speed import SpeedOptions
from ...request import GenerationSettings
from .. import flow
from .loras import fuse_distillation

if TYPE_CHECKING:
    from ..family import LoadedModel


def adapt(pipe: WanImageToVideoPipeline, source: ModelSource, reporter: Callable[[str], ProgressReport]) -> None:
    """The flow shift of the entry's defaults on the pipeline's scheduler (the repos' own files have changed), and a
    distilled entry's LoRAs fused into its network."""
    shift = source.defaults.flow_shift
    if shift is not None and pipe.scheduler.config.get("flow_shift") != shift:
        pipe.scheduler = UniPCMultistepScheduler.from_config(pipe.scheduler.config, flow_shift=shift)
    fuse_distillation(pipe, source, reporter)


def place(loaded: LoadedModel, settings: GenerationSettings, device: torch.device, speed: SpeedOptions) -> None:
    """Put the models where the settings' memory profile says (once per profile), with the speed switches on both
    experts."""
    flow.place_flow_pipeline(loaded, settings, device, speed, _transformers)


def store_in_fp8(pipe: WanImageToVideoPipeline) -> None:
    """Both experts' weights stored in fp8, computed in the pipeline's dtype (the `balanced` profile)."""
    flow.store_in_fp8(_transformers(pipe), pipe.dtype)


def _transformers(pipe: WanImageToVideoPipeline) -> tuple[torch.nn.Module | None, ...]:
    return (pipe.transformer, pipe.transformer_2)
