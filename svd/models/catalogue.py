"""The model catalogue, each model's defaults, and how a model name becomes a source to load.

A model is named by a catalogue id (`svd-xt`), a Hub repository id (`owner/name`) or a local folder in diffusers
layout. Resolving a name never touches the network; downloading is `svd.models.download`'s job.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from huggingface_hub.errors import HFValidationError
from huggingface_hub.utils import validate_repo_id

from ..errors import ModelError
from ..families.svd.catalogue import SVD_KIND, SVD_MODELS
from ..families.wan.catalogue import WAN_KIND, WAN_MODELS
from ..settings import Settings
from .download import cached_model_path
from .entries import DEFAULTS_FILE, CatalogueEntry, DistilledUNet, FamilyKind, ModelDefaults

INDEX_FILE = "model_index.json"

KINDS: dict[str, FamilyKind] = {kind.name: kind for kind in (SVD_KIND, WAN_KIND)}
"""The model families, by name (their code is `svd.families.registry`'s)."""

CATALOGUE: dict[str, CatalogueEntry] = {entry.id: entry for entry in (*SVD_MODELS, *WAN_MODELS)}


DEFAULT_MODEL = "svd-xt"

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass(frozen=True)
class ModelSource:
    """A resolved model name: either a Hub repository to fetch, or a folder on disk."""

    name: str
    repo_id: str | None = None
    path: Path | None = None
    defaults: ModelDefaults = field(default_factory=ModelDefaults)
    unet: DistilledUNet | None = None
    """For a Turbo model: the UNet that replaces the base model's."""

    @property
    def is_local(self) -> bool:
        return self.path is not None

    @property
    def shown(self) -> str:
        """The name as the page and its status show it: a local folder by its own name, not the server's path."""
        return self.path.name if self.path is not None else self.name


def resolve_model(name: str) -> ModelSource:
    """Turn a catalogue id, Hub id or folder into a `ModelSource`, checking a folder's layout on the way."""
    name = name.strip()
    if name in CATALOGUE:
        entry = CATALOGUE[name]
        return ModelSource(name=name, repo_id=entry.repo_id, defaults=entry.defaults, unet=entry.unet)
    for entry in CATALOGUE.values():
        if name == entry.repo_id and entry.unet is None:
            return ModelSource(name=entry.id, repo_id=entry.repo_id, defaults=entry.defaults)
    path = Path(name).expanduser()
    if path.is_dir():
        return ModelSource(name=name, path=path, defaults=read_model_defaults(path))
    if _HUB_ID.match(name) and not path.exists():
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


@dataclass(frozen=True)
class ServedModels:
    """The models a WebUI or API caller may ask for: the server's own (`configured`, also for an empty name), the
    catalogue (its ids and Hub ids), a folder directly inside the models folder, and the Hub ids that match one of
    `hub` (fnmatch patterns such as `myorg/*`, or `*`: SVD_HUB_MODELS; none unless the operator allows them).

    A name is checked by its form alone before anything is looked up, and every refused name gets the same message,
    whether or not a path of that name exists, so callers cannot probe the server's folders or make it download
    whatever they like."""

    configured: str
    folder: Path
    hub: tuple[str, ...] = ()
    catalogue: tuple[str, ...] = tuple(CATALOGUE) + tuple(entry.repo_id for entry in CATALOGUE.values())
    what: str = "model"

    def name(self, asked: str) -> str:
        """`asked` as a name the loader takes (a folder as its path), or a `ModelError`."""
        asked = asked.strip()
        if asked in ("", self.configured):
            return self.configured
        if asked in self.catalogue:
            return asked
        inside = asked.removeprefix(f"{self.folder}/")  # the page lists local folders by their path
        if _plain_name(inside) and (self.folder / inside).is_dir():
            return str(self.folder / inside)
        if is_hub_id(asked) and any(fnmatch.fnmatchcase(asked, pattern) for pattern in self.hub):
            return asked
        ids = ", ".join(name for name in self.catalogue if "/" not in name)
        hub = ", a Hub id this server allows (SVD_HUB_MODELS)" if self.hub else ""
        raise ModelError(
            f"{self.what} '{_shown(asked)}' is not available here",
            f"use one of {ids}{hub} or the name of a folder in the server's models folder",
        )


def served_models(settings: Settings) -> ServedModels:
    """The SVD models the server's page and API offer."""
    return ServedModels(settings.model, settings.models_dir, settings.hub_models)


MAX_NAME = 200
"""The longest model name looked at (a Hub id is at most 96 characters a part)."""


def is_hub_id(name: str) -> bool:
    """Whether `name` is a Hub repository id, `owner/name`, by the Hub's own rules (huggingface_hub's check)."""
    if len(name) > MAX_NAME or name.count("/") != 1:
        return False
    try:
        validate_repo_id(name)
    except HFValidationError:
        return False
    return True


def _plain_name(name: str) -> bool:
    """A folder name that stays inside the folder it is joined to: no separator, no `..`, not hidden."""
    return (
        0 < len(name) <= MAX_NAME
        and "/" not in name
        and "\\" not in name
        and "\0" not in name
        and not name.startswith(".")
    )


def _shown(name: str) -> str:
    """A name as an error repeats it: one line, at most 60 characters."""
    flat = name.encode("unicode_escape").decode("ascii")
    return flat if len(flat) <= 60 else flat[:57] + "..."
