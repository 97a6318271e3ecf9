"""LTX-Video once loaded: its entry's own call arguments kept for its runs, and its models placed for a memory
profile as the flow-matching families place theirs (`svd.families.flow.place_flow_pipeline`: `full` on the GPU in
bf16, `balanced` the transformer stored in fp8 with model offload, `low` group offloading). On a GPU its VAE always
decodes in tiles, as every example in diffusers' LTX-Video documentation does: it decodes the whole video at once,
at full size in its last blocks."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
from diffusers import LTXConditionPipeline

from ...models.download import ProgressReport, fetch_hub_file
from ...models.entries import ModelSource
from ...models.speed import SpeedOptions
from ...request import GenerationSettings
from .. import flow
from .catalogue import LatentUpsampler
from .recipe import Recipe, recipe_of, use_recipe
from .upsampler import load_two_pass

if TYPE_CHECKING:
    from ..family import LoadedModel


def adapt(pipe: LTXConditionPipeline, source: ModelSource, reporter: Callable[[str], ProgressReport]) -> None:
    """Keep the entry's (or the folder's) pipeline arguments for the model's runs, and its latent upsampler
    (downloaded if needed) for the two passes."""
    two_pass = None
    for upsampler in source.files_of(LatentUpsampler):
        file = fetch_hub_file(upsampler, reporter(f"{source.name}'s {upsampler.filename}"))
        two_pass = load_two_pass(upsampler, file, pipe)
    use_recipe(pipe, Recipe(dict(source.defaults.pipeline_arguments), two_pass))


def place(loaded: LoadedModel, settings: GenerationSettings, device: torch.device, speed: SpeedOptions) -> None:
    """Put the models where the settings' memory profile says (once per profile), with the speed switches; its
    transformer attends to the prompt with a mask, which the flash and sage kernels refuse."""
    flow.place_flow_pipeline(loaded, settings, device, speed, _transformers, tile_on_gpu=True, masked_attention=True)
    two_pass = recipe_of(loaded.pipe).two_pass
    if two_pass is not None:  # 126 M parameters (0.25 GB in bf16): where the upsampling pipeline runs
        two_pass.pipe.latent_upsampler.to(two_pass.pipe._execution_device)


def store_in_fp8(pipe: LTXConditionPipeline) -> None:
    """The transformer's weights stored in fp8, computed in the pipeline's dtype (the `balanced` profile)."""
    flow.store_in_fp8(_transformers(pipe), pipe.dtype)


def _transformers(pipe: LTXConditionPipeline) -> tuple[torch.nn.Module | None, ...]:
    return (pipe.transformer,)
