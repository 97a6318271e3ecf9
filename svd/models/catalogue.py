"""The model catalogue, each model's defaults, and how a model name becomes a source to load.

A model is named by a catalogue id (`svd-xt`), a Hub repository id (`owner/name`) or a local folder in diffusers
layout. Resolving a name never touches the network; downloading is `svd.models.download`'s job.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from huggingface_hub.errors import HFValidationError
from huggingface_hub.utils import validate_repo_id

from ..errors import ModelError
from ..settings import Settings


@dataclass(frozen=True)
class NetworkWork:
    """FLOPs per pixel of a generating network, counted on its full-size architecture (bench/flops.py)."""

    step: float
    """Per pixel of each frame, each step and each element of the batch (two with guidance)."""
    decode: float
    """Per pixel of each frame, by the VAE's decoder."""
    encode: float = 0.0
    """Per pixel of the picture, by the VAE's encoder (once per segment)."""


PIPELINE_CLASS = "StableVideoDiffusionPipeline"
SVD_WORK = NetworkWork(step=5.42e6, decode=11.8e6, encode=4.42e6)
"""FLOPs per pixel of SVD's UNet (per frame, step and batch element), VAE decoder (per frame) and encoder, counted
at 1024x576 (bench/flops.py): 160 TFLOP a guided step and 174 TFLOP the decode of 25 frames."""
COMPONENTS = ("unet", "vae", "image_encoder", "feature_extractor", "scheduler")
DEFAULTS_FILE = "svd_defaults.json"
"""Optional file in a model folder that states the model's defaults (the tiny model writes one)."""


@dataclass(frozen=True)
class ModelDefaults:
    """What a model was trained for; a request that leaves a setting out gets these."""

    width: int = 1024
    height: int = 576
    size_multiple: int = 64
    num_frames: int = 25
    fps: int = 7
    motion_bucket_id: int = 127
    noise_aug_strength: float = 0.02
    num_inference_steps: int = 25
    min_guidance_scale: float = 1.0
    max_guidance_scale: float = 3.0
    max_steps: int = 200
    """The most denoising steps the model's sampler takes."""
    notice: str | None = None

    @classmethod
    def from_dict(cls, values: dict) -> ModelDefaults:
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})


@dataclass(frozen=True)
class DistilledUNet:
    """A UNet distilled from the base model's: the same architecture with other weights, in one file on the Hub,
    sampled with the consistency sampler (`svd.families.svd.consistency`) instead of the base model's."""

    repo_id: str
    filename: str


@dataclass(frozen=True)
class CatalogueEntry:
    id: str
    repo_id: str
    """The base SVD repository (for a Turbo entry, every component but the UNet comes from it)."""
    title: str
    defaults: ModelDefaults
    unet: DistilledUNet | None = None


TURBO = ModelDefaults(
    num_inference_steps=4,
    min_guidance_scale=1.0,
    max_guidance_scale=1.0,
    max_steps=40,
    notice="Turbo: 4 steps without guidance, several times faster than SVD-XT but less stable; for trying ideas",
)
"""AnimateLCM-SVD-xt was distilled for 1-8 steps, 4 recommended, at guidance 1 (so no guidance batch)."""
ANIMATELCM = "wangfuyun/AnimateLCM-SVD-xt"


CATALOGUE: dict[str, CatalogueEntry] = {
    entry.id: entry
    for entry in (
        CatalogueEntry(
            "svd",
            "stabilityai/stable-video-diffusion-img2vid",
            "SVD (14 frames)",
            ModelDefaults(num_frames=14),
        ),
        CatalogueEntry(
            "svd-xt",
            "stabilityai/stable-video-diffusion-img2vid-xt",
            "SVD-XT (25 frames)",
            ModelDefaults(num_frames=25),
        ),
        CatalogueEntry(
            "svd-xt-1.1",
            "stabilityai/stable-video-diffusion-img2vid-xt-1-1",
            "SVD-XT 1.1 (25 frames, tuned for 6 fps and motion 127)",
            ModelDefaults(num_frames=25, fps=6, motion_bucket_id=127),
        ),
        CatalogueEntry(
            "svd-xt-turbo",
            "stabilityai/stable-video-diffusion-img2vid-xt",
            "SVD-XT Turbo (AnimateLCM, 4 steps)",
            TURBO,
            DistilledUNet(ANIMATELCM, "AnimateLCM-SVD-xt.safetensors"),
        ),
        CatalogueEntry(
            "svd-xt-1.1-turbo",
            "stabilityai/stable-video-diffusion-img2vid-xt-1-1",
            "SVD-XT 1.1 Turbo (AnimateLCM, 4 steps)",
            replace(TURBO, fps=6, motion_bucket_id=127),
            DistilledUNet(ANIMATELCM, "AnimateLCM-SVD-xt-1.1.safetensors"),
        ),
    )
}
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
        return ModelSource(name=name, repo_id=name)
    raise ModelError(
        f"unknown model '{name}'",
        f"use one of {', '.join(CATALOGUE)}, a Hub id such as owner/name, or a local folder in diffusers layout",
    )


def check_model_folder(path: Path) -> None:
    """Raise a `ModelError` unless `path` holds an SVD pipeline in diffusers layout."""
    index_file = path / "model_index.json"
    expected = f"{PIPELINE_CLASS} in diffusers layout (model_index.json, {', '.join(COMPONENTS)})"
    if not index_file.is_file():
        raise ModelError(f"'{path}' is not an SVD model folder", f"it has no model_index.json; expected {expected}")
    try:
        index = json.loads(index_file.read_text())
    except (OSError, ValueError) as error:
        raise ModelError(
            f"'{path}' is not an SVD model folder", f"model_index.json is unreadable ({error}); save the model again"
        ) from None
    if index.get("_class_name") != PIPELINE_CLASS:
        raise ModelError(
            f"'{path}' is not an SVD model folder", f"it holds a {index.get('_class_name')!s}, expected {expected}"
        )
    missing = [name for name in COMPONENTS if not (path / name).is_dir()]
    if missing:
        lacking = ", ".join(f"{name}/" for name in missing)
        raise ModelError(f"'{path}' is not a complete SVD model folder", f"it lacks {lacking}; download it again")


def read_model_defaults(path: Path) -> ModelDefaults:
    """The defaults of a model folder: its `svd_defaults.json` if any, else inferred from the UNet config."""
    check_model_folder(path)
    defaults_file = path / DEFAULTS_FILE
    if defaults_file.is_file():
        return ModelDefaults.from_dict(json.loads(defaults_file.read_text()))
    try:
        unet_config = json.loads((path / "unet" / "config.json").read_text())
    except (OSError, ValueError):
        return ModelDefaults()
    return ModelDefaults(num_frames=int(unet_config.get("num_frames", ModelDefaults.num_frames)))


def has_fp16_variant(path: Path) -> bool:
    """True when the folder holds the `fp16` variant weights (what `python -m svd download` fetches)."""
    return any(path.glob("unet/*.fp16.safetensors"))


def find_local_models(folder: Path) -> list[Path]:
    """The SVD model folders directly inside `folder`, for the WebUI's model list."""
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
