"""Wan once loaded: its schedule's shift as its catalogue entry states it, and its models placed for a memory
profile, with diffusers' own tools. On a GPU:

- `full`: everything on the GPU, in bf16.
- `balanced`: the transformers' weights stored in fp8 and computed in bf16 (layerwise casting: half the memory of
  their weights, which are most of it), and each model on the GPU only while it runs (model offload: the text
  encoder runs, then leaves).
- `low`: group offloading, one transformer block at a time brought to the GPU on a CUDA stream ahead of its use,
  and the VAE decoding in tiles.

fp8 storage and group offloading cannot be undone in place, so a model placed `balanced` or `low` keeps it; asking
it for another profile later says to load it again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
from diffusers import UniPCMultistepScheduler, WanImageToVideoPipeline

from ...errors import InputError
from ...models.download import ProgressReport
from ...models.entries import ModelSource
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
    if loaded.profile in ("balanced", "low"):
        raise InputError(
            f"{loaded.source.shown} is placed for the {loaded.profile} memory profile, which is not undone in place",
            f"ask for the {loaded.profile} profile, or load the model again (another model, then this one)",
        )
    pipe = loaded.pipe
    loaded.profile = None
    try:
        pipe.remove_all_hooks()
        pipe.vae.disable_tiling()
        if device.type != "cuda" or profile in ("full", "cpu"):
            pipe.to(device)
        elif profile == "balanced":
            store_in_fp8(pipe)
            pipe.to("cpu")
            pipe.enable_model_cpu_offload(device=device)
        else:
            pipe.to("cpu")
            pipe.enable_group_offload(onload_device=device, num_blocks_per_group=1, use_stream=True)
            pipe.vae.enable_tiling()
        loaded.profile = profile  # type: ignore[assignment]
    except torch.cuda.OutOfMemoryError:
        pass  # raised below, once the exception and the tensors its traceback holds are gone
    if loaded.profile is None:
        release_memory(device)
        raise out_of_memory(settings)


def store_in_fp8(pipe: WanImageToVideoPipeline) -> None:
    """The transformers' weights kept in fp8 (e4m3) and cast to the pipeline's dtype layer by layer as they run;
    diffusers leaves the layers that need their precision (norms, embeddings) as they are."""
    for transformer in (pipe.transformer, pipe.transformer_2):
        if transformer is not None:
            transformer.enable_layerwise_casting(storage_dtype=torch.float8_e4m3fn, compute_dtype=pipe.dtype)
