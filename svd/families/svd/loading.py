"""SVD once loaded: a Turbo entry's distilled UNet put in, and the models placed for a memory profile with the
speed-ups applied."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
from diffusers import StableVideoDiffusionPipeline

from ...models.download import ProgressReport, fetch_hub_file
from ...models.entries import DistilledUNet, ModelSource
from ...models.memory import Profile, apply_profile, release_memory
from ...models.speed import SpeedOptions, apply_options, check_options
from ...request import GenerationSettings
from .animate import out_of_memory
from .turbo import use_distilled_unet

if TYPE_CHECKING:
    from ..family import LoadedModel


def adapt(pipe: StableVideoDiffusionPipeline, source: ModelSource, reporter: Callable[[str], ProgressReport]) -> None:
    """For a Turbo entry, its distilled UNet (downloaded if needed) in place of the base model's."""
    for unet in source.files_of(DistilledUNet):
        use_distilled_unet(pipe, fetch_hub_file(unet, reporter(f"{source.name}'s UNet")))


def place(loaded: LoadedModel, settings: GenerationSettings, device: torch.device, speed: SpeedOptions) -> None:
    """Put the model where the settings' memory profile says (once per profile), with the speed-ups applied once;
    running out of GPU memory on the way frees what it held and says what to change."""
    profile: Profile = settings.memory_profile  # type: ignore[assignment]
    check_options(speed, profile)
    if loaded.profile != profile:
        loaded.profile = None
        try:
            apply_profile(loaded.pipe, profile, device)
            loaded.profile = profile
        except torch.cuda.OutOfMemoryError:
            pass  # raised below, once the exception and the tensors its traceback holds are gone
        if loaded.profile is None:
            release_memory(device)
            raise out_of_memory(settings, "loading the model")
    if not loaded.sped_up:
        apply_options(loaded.pipe, speed)
        loaded.sped_up = True
