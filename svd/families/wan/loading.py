"""Wan once loaded: its schedule's shift as its catalogue entry states it, and its models placed for a memory
profile. On a GPU, `balanced` and `low` keep each model on the CPU until it runs (diffusers' model offload, in the
order text encoder, image encoder, transformers, VAE), and `low` also decodes in tiles."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
from diffusers import UniPCMultistepScheduler, WanImageToVideoPipeline

from ...errors import InputError
from ...models.catalogue import ModelSource
from ...models.download import ProgressReport
from ...models.memory import release_memory
from ...models.speed import SpeedOptions
from ...request import GenerationSettings
from .animate import out_of_memory

if TYPE_CHECKING:
    from ..family import LoadedModel


def adapt(pipe: WanImageToVideoPipeline, source: ModelSource, reporter: Callable[[str], ProgressReport]) -> None:
    """The flow shift of the entry's defaults on the pipeline's scheduler (the repos' own files have changed)."""
    shift = source.defaults.flow_shift
    if shift is not None and pipe.scheduler.config.get("flow_shift") != shift:
        pipe.scheduler = UniPCMultistepScheduler.from_config(pipe.scheduler.config, flow_shift=shift)


def place(loaded: LoadedModel, settings: GenerationSettings, device: torch.device, speed: SpeedOptions) -> None:
    """Put the models where the settings' memory profile says (once per profile)."""
    if speed.describe() != "plain":
        raise InputError(
            f"the speed options ({speed.describe()}) are SVD's: Wan runs without them for now",
            "start the server with SVD_SPEED=plain to serve Wan models",
        )
    profile = settings.memory_profile
    if loaded.profile == profile:
        return
    pipe = loaded.pipe
    loaded.profile = None
    try:
        pipe.remove_all_hooks()
        pipe.vae.disable_tiling()
        if device.type != "cuda" or profile in ("full", "cpu"):
            pipe.to(device)
        else:
            pipe.to("cpu")
            pipe.enable_model_cpu_offload(device=device)
            if profile == "low":
                pipe.vae.enable_tiling()
        loaded.profile = profile  # type: ignore[assignment]
    except torch.cuda.OutOfMemoryError:
        pass  # raised below, once the exception and the tensors its traceback holds are gone
    if loaded.profile is None:
        release_memory(device)
        raise out_of_memory(settings)
