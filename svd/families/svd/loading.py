"""Loading an SVD model for the engine: its folder (a local one, or a Hub snapshot from the cache, downloaded first if
needed), the pipeline in the folder's variant and the engine's dtype and, for a Turbo model, its distilled UNet."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from diffusers import StableVideoDiffusionPipeline

from ...models.catalogue import CATALOGUE, ModelSource, check_model_folder, has_fp16_variant, read_model_defaults
from ...models.download import ProgressReport, cached_model_path, download_model, download_size
from ...models.memory import Profile, apply_profile, release_memory
from ...models.pipeline import load_pipeline
from ...models.speed import CompiledShapes, SpeedOptions, apply_options, check_options
from ...preview import LatentPreview
from ...request import GenerationSettings
from ...results import EngineStatus
from .animate import out_of_memory
from .turbo import fetch_distilled_unet, use_distilled_unet

logger = logging.getLogger("svd")

_BUILDING = threading.Lock()
"""One pipeline is built at a time in a process: diffusers builds models on the `meta` device through a global
context, so two engines loading at once in two threads break each other's load."""


@dataclass
class LoadedModel:
    source: ModelSource
    path: Path
    pipe: StableVideoDiffusionPipeline
    variant: str | None
    load_seconds: float
    profile: Profile | None = None
    sped_up: bool = False
    """Whether the speed options are applied (once per loaded model)."""
    compiled: CompiledShapes = field(default_factory=CompiledShapes)
    preview: LatentPreview | None = None
    """The live previews' latent-to-RGB map for this model's VAE, fitted on first use."""


def is_downloaded(source: ModelSource) -> bool:
    """Whether loading `source` needs no download: a local folder, or a Hub model (and its UNet) in the cache."""
    if source.repo_id is None:
        return True
    unet = source.unet
    return cached_model_path(source.repo_id) is not None and (
        unet is None or cached_model_path(unet.repo_id, [unet.filename]) is not None
    )


def bytes_to_download(source: ModelSource) -> int:
    """What loading `source` would fetch: the parts not in the cache yet (asks the Hub)."""
    total = 0
    if source.repo_id is not None and cached_model_path(source.repo_id) is None:
        total += download_size(source.repo_id)
    unet = source.unet
    if unet is not None and cached_model_path(unet.repo_id, [unet.filename]) is None:
        total += download_size(unet.repo_id, [unet.filename])
    return total


def load_model(
    source: ModelSource,
    dtype: torch.dtype,
    tell: Callable[[EngineStatus], None],
    reporter: Callable[[str], ProgressReport],
) -> LoadedModel:
    """`tell(status)` says what is under way; `reporter(name)` makes the progress callback of a download."""
    started = time.perf_counter()
    path = source.path or _fetch(source, tell, reporter)
    check_model_folder(path)
    if source.repo_id is not None and source.name not in CATALOGUE:
        source = replace(source, defaults=read_model_defaults(path))
    variant = "fp16" if has_fp16_variant(path) else None
    tell(EngineStatus("loading", f"loading {source.shown}"))
    what = f"{source.name} from {path}"
    with _BUILDING:
        pipe = load_pipeline(StableVideoDiffusionPipeline, path, variant, dtype, what, "SVD model")
    if source.unet is not None:
        use_distilled_unet(pipe, fetch_distilled_unet(source.unet, reporter(f"{source.name}'s UNet")))
    return LoadedModel(source, path, pipe, variant, load_seconds=time.perf_counter() - started)


def _fetch(source: ModelSource, tell: Callable[[EngineStatus], None], reporter) -> Path:
    assert source.repo_id is not None
    cached = cached_model_path(source.repo_id)
    if cached is not None:
        return cached
    status = EngineStatus("downloading", f"downloading {source.name} ({source.repo_id})", 0.0)
    tell(status)
    logger.info(status.message)
    return download_model(source.repo_id, on_progress=reporter(source.name))


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
