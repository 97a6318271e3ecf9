"""Loading a model for the engine: its folder (a local one, or a Hub snapshot from the cache, downloaded first if
needed), then its family's pipeline in the folder's variant and the engine's dtype, made ready by its family (for
SVD Turbo, its distilled UNet; for Wan, its schedule's shift). Components that an entry takes from one file in its
authors' layout (`OriginalCheckpoint`) are converted from it first and given to the pipeline in place of the
folder's, whose weights of them are not downloaded."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import torch

from ..models.download import ProgressReport, cached_model_path, download_model, download_size, fetch_hub_file
from ..models.entries import DEFAULTS_FILE, OriginalCheckpoint, without_weights_of
from ..models.pipeline import load_pipeline
from ..models.single_file import load_components
from ..results import EngineStatus
from .catalogue import (
    CATALOGUE,
    INDEX_FILE,
    KINDS,
    ModelSource,
    check_model_folder,
    has_fp16_variant,
    kind_of_folder,
    read_model_defaults,
)
from .family import LoadedModel
from .registry import FAMILIES

logger = logging.getLogger("svd")

_BUILDING = threading.Lock()
"""One pipeline is built at a time in a process: diffusers builds models on the `meta` device through a global
context, so two engines loading at once in two threads break each other's load."""


def is_downloaded(source: ModelSource) -> bool:
    """Whether loading `source` needs no download: a local folder, or a Hub model (and its UNet or LoRAs) in the
    cache."""
    if source.repo_id is None:
        return True
    files = repository_files(source, fetch=False)
    return (
        files is not None
        and cached_model_path(source.repo_id, files) is not None
        and all(cached_model_path(file.repo_id, [file.filename]) is not None for file in source.hub_files)
    )


def bytes_to_download(source: ModelSource) -> int:
    """What loading `source` would fetch: the parts not in the cache yet (asks the Hub)."""
    total = 0
    if source.repo_id is not None:
        files = repository_files(source)
        total += 0 if cached_model_path(source.repo_id, files) else download_size(source.repo_id, files)
    for file in source.hub_files:
        if cached_model_path(file.repo_id, [file.filename]) is None:
            total += download_size(file.repo_id, [file.filename])
    return total


METADATA = [INDEX_FILE, DEFAULTS_FILE, "*/config.json", "*/*_config.json"]
"""The small files of a repository that say which family it is and what its defaults are (no weights)."""


def with_hub_defaults(source: ModelSource) -> ModelSource:
    """A Hub model outside the catalogue with its own family's defaults, read from its small files (from the cache,
    else fetched: kilobytes, no weights), so that a request for it is checked against its family before any weight
    is downloaded; any other source as it is."""
    if source.repo_id is None or source.name in CATALOGUE or is_downloaded(source):
        return source
    folder = cached_model_path(source.repo_id, METADATA) or download_model(source.repo_id, None, METADATA)
    return replace(source, defaults=read_model_defaults(folder))


def repository_files(source: ModelSource, fetch: bool = True) -> Sequence[str] | None:
    """The files of the source's repository that a load needs, which are its family's: a catalogue entry's is
    known; a Hub id's is the one its `model_index.json` names, fetched first (None if it is not in the cache and
    `fetch` is off)."""
    assert source.repo_id is not None
    if source.name in CATALOGUE:
        kind = KINDS[source.defaults.family]
        replaced = [name for file in source.files_of(OriginalCheckpoint) for name in file.components]
        return without_weights_of(kind.files, kind.components, replaced) if replaced else kind.files
    index = [INDEX_FILE]
    folder = cached_model_path(source.repo_id, index) or (
        download_model(source.repo_id, None, index) if fetch else None
    )
    return kind_of_folder(folder).files if folder is not None else None


def load_model(
    source: ModelSource,
    dtype: torch.dtype,
    tell: Callable[[EngineStatus], None],
    reporter: Callable[[str], ProgressReport],
) -> LoadedModel:
    """`source` as the pipeline of the family its folder holds, in `dtype` on the CPU (float32) and in its family's
    on a GPU. `tell(status)` says what is under way; `reporter(name)` makes the progress callback of a download."""
    started = time.perf_counter()
    path = source.path or _fetch(source, tell, reporter)
    family = FAMILIES[check_model_folder(path).name]
    if source.repo_id is not None and source.name not in CATALOGUE:
        source = replace(source, defaults=read_model_defaults(path))
    variant = "fp16" if has_fp16_variant(path) else None
    tell(EngineStatus("loading", f"loading {source.shown}"))
    dtype = dtype if dtype == torch.float32 else family.gpu_dtype
    checkpoints = [
        (checkpoint, fetch_hub_file(checkpoint, reporter(f"{source.name}'s {checkpoint.filename}")))
        for checkpoint in source.files_of(OriginalCheckpoint)
    ]
    with _BUILDING:
        components = {}
        for checkpoint, file in checkpoints:
            components.update(load_components(checkpoint, file, path, dtype))
        kind = f"{family.kind.title} model"
        pipe = load_pipeline(family.pipeline, path, variant, dtype, source.shown, kind, components)
    family.adapt(pipe, source, reporter)
    return LoadedModel(source, family, path, pipe, variant, load_seconds=time.perf_counter() - started)


def _fetch(source: ModelSource, tell: Callable[[EngineStatus], None], reporter) -> Path:
    assert source.repo_id is not None
    files = repository_files(source)
    cached = cached_model_path(source.repo_id, files)
    if cached is not None:
        return cached
    status = EngineStatus("downloading", f"downloading {source.name} ({source.repo_id})", 0.0)
    tell(status)
    logger.info(status.message)
    return download_model(source.repo_id, reporter(source.name), files)
