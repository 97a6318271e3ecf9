"""The model catalogue, assembled from the families' entries, and how a model name becomes a source to load.

A model is named by a catalogue id (`svd-xt`), a Hub repository id (`owner/name`) or a local folder in diffusers
layout, whose family its `model_index.json` names. Resolving a name never touches the network; downloading is
`svd.models.download`'s job.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import ModelError
from ..models.download import cached_model_path
from ..models.entries import DEFAULTS_FILE, CatalogueEntry, FamilyKind, ModelDefaults, ModelSource
from ..models.names import HUB_ID, ServedModels
from ..settings import Settings
from .ltx.catalogue import LTX_KIND, LTX_MODELS
from .svd.catalogue import SVD_KIND, SVD_MODELS
from .wan.catalogue import WAN_KIND, WAN_MODELS

INDEX_FILE = "model_index.json"

KINDS: dict[str, FamilyKind] = {kind.name: kind for kind in (SVD_KIND, WAN_KIND, LTX_KIND)}
"""The model families, by name (their code is `svd.families.registry`'s)."""

CATALOGUE: dict[str, CatalogueEntry] = {entry.id: entry for entry in (*SVD_MODELS, *WAN_MODELS, *LTX_MODELS)}


DEFAULT_MODEL = "svd-xt"


def resolve_model(name: str) -> ModelSource:
    """Turn a catalogue id, Hub id or folder into a `ModelSource`, checking a folder's layout on the way."""
    name = name.strip()
    if name in CATALOGUE:
        entry = CATALOGUE[name]
        return ModelSource(entry.id, entry.repo_id, defaults=entry.defaults, hub_files=entry.hub_files)
    for entry in CATALOGUE.values():
        if name == entry.repo_id and not entry.hub_files:
            return ModelSource(name=entry.id, repo_id=entry.repo_id, defaults=entry.defaults)
    path = Path(name).expanduser()
    if path.is_dir():
        return ModelSource(name=name, path=path, defaults=read_model_defaults(path))
    if HUB_ID.match(name) and not path.exists():
        cached = _cached_snapshot(name)
        return ModelSource(
            name=name, repo_id=name, defaults=read_model_defaults(cached) if cached else ModelDefaults()
        )
    raise ModelError(
        f"unknown model '{name}'",
        f"use one of {', '.join(CATALOGUE)}, a Hub id such as owner/name, or a local folder in diffusers layout",
    )


def _cached_snapshot(repo_id: str) -> Path | None:
    """A Hub model's complete snapshot in the cache, with the files its family's load needs (no network)."""
    index = cached_model_path(repo_id, [INDEX_FILE])
    return cached_model_path(repo_id, kind_of_folder(index).files) if index is not None else None


def check_model_folder(path: Path) -> FamilyKind:
    """The family of the pipeline `path` holds in diffusers layout, or a `ModelError` that says what is wrong."""
    kind = kind_of_folder(path)
    missing = [name for name in kind.components if not (path / name).is_dir()]
    if missing:
        lacking = ", ".join(f"{name}/" for name in missing)
        raise ModelError(f"'{path}' is not a complete {kind.title} folder", f"it lacks {lacking}; download it again")
    return kind


def kind_of_folder(path: Path) -> FamilyKind:
    """The family whose pipeline class the folder's `model_index.json` names, or a `ModelError`."""
    index_file = path / INDEX_FILE
    expected = " or ".join(f"a {kind.title} pipeline" for kind in KINDS.values()) + " in diffusers layout"
    if not index_file.is_file():
        raise ModelError(f"'{path}' is not a model folder", f"it has no {INDEX_FILE}; expected {expected}")
    try:
        index = json.loads(index_file.read_text())
    except (OSError, ValueError) as error:
        raise ModelError(
            f"'{path}' is not a model folder", f"{INDEX_FILE} is unreadable ({error}); save the model again"
        ) from None
    kind = next((kind for kind in KINDS.values() if index.get("_class_name") in kind.class_names), None)
    if kind is None:
        raise ModelError(
            f"'{path}' is not a model folder this studio runs",
            f"it holds a {index.get('_class_name')!s}, expected {expected}",
        )
    return kind


def read_model_defaults(path: Path) -> ModelDefaults:
    """The defaults of a model folder: its `svd_defaults.json` if any, else what its family reads from its configs."""
    kind = check_model_folder(path)
    defaults_file = path / DEFAULTS_FILE
    if defaults_file.is_file():
        return ModelDefaults.from_dict({"family": kind.name, **json.loads(defaults_file.read_text())})
    return kind.folder_defaults(path)


def has_fp16_variant(path: Path) -> bool:
    """True when the folder holds `fp16` variant weights (what `python -m svd download` fetches for SVD)."""
    return any(path.glob("*/*.fp16.safetensors"))


def find_local_models(folder: Path) -> list[Path]:
    """The model folders directly inside `folder`, for the WebUI's model list."""
    if not folder.is_dir():
        return []
    found = []
    for child in sorted(folder.iterdir()):
        try:
            check_model_folder(child)
        except ModelError:
            continue
        found.append(child)
    return found


def served_models(settings: Settings) -> ServedModels:
    """The video models the server's page and API offer: the server's own, the catalogue, its folders and Hub ids."""
    catalogue = tuple(CATALOGUE) + tuple(entry.repo_id for entry in CATALOGUE.values())
    return ServedModels(settings.model, settings.models_dir, settings.hub_models, catalogue)
