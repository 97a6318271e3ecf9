"""Text-to-image models that make first frames: the catalogue, how a name resolves, the files a download fetches
and the size a model renders at for a video's aspect.

Like SVD models, a text-to-image model is named by a catalogue id, a Hub id (`owner/name`) or a local folder in
diffusers layout; resolving a name never touches the network.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from ..errors import ModelError
from ..models.entries import NetworkWork
from ..models.names import HUB_ID, ServedModels
from ..settings import Settings

SDXL_WORK = NetworkWork(step=6.45e6, decode=9.98e6)
"""FLOPs per pixel of SDXL's UNet (each step and batch element) and VAE decoder (bench/flops.py)."""
FLUX_WORK = NetworkWork(step=70.9e6, decode=9.98e6)
"""FLOPs per pixel of FLUX.1's 12 B transformer (each step) and VAE decoder (bench/flops.py)."""


@dataclass(frozen=True)
class TextModel:
    """A text-to-image model and how to run it."""

    name: str
    repo_id: str | None = None
    path: Path | None = None
    title: str = ""
    licence: str = "see its model card"
    steps: int = 25
    guidance: float = 5.0
    variant: str | None = None
    """Weights variant to fetch and load (`fp16`), or None for the repository's own weights."""
    cuda_dtype: torch.dtype = torch.float16
    pixels: int = 1024 * 1024
    """The pixel count it was trained at; first frames render at about this many pixels."""
    download_gb: float | None = None
    work: NetworkWork = SDXL_WORK
    """FLOPs per pixel, for the cost of a first frame (a model outside the catalogue counts as SDXL)."""


TEXT_MODELS: dict[str, TextModel] = {
    model.name: model
    for model in (
        TextModel(
            "dreamshaper-xl-lightning", "Lykon/dreamshaper-xl-lightning", title="DreamShaper XL Lightning (4 steps)",
            licence="CreativeML Open RAIL++-M (commercial use allowed), ungated", steps=4, guidance=2.0,
            variant="fp16", download_gb=6.9,
        ),
        TextModel(
            "flux-schnell", "black-forest-labs/FLUX.1-schnell", title="FLUX.1 schnell (4 steps, 12 B, higher quality)",
            licence="Apache-2.0", steps=4, guidance=0.0, cuda_dtype=torch.bfloat16, download_gb=33.7, work=FLUX_WORK,
        ),
    )
}  # fmt: skip
DEFAULT_TEXT_MODEL = "dreamshaper-xl-lightning"
DEFAULTS_FILE = "svd_text_defaults.json"  # also in SHARED_FILES below
"""Optional file in a model folder stating its `steps`, `guidance` and `pixels` (the tiny model writes one)."""

SHARED_FILES = [
    "model_index.json",
    "svd_text_defaults.json",
    "*/config.json",
    "*/*.json",
    "*/*.txt",
    "*/*.model",
    "scheduler/*",
]
"""Configs, tokenizers (vocab, merges, sentencepiece) and shard indexes, whatever the weights' variant."""


def download_patterns(model: TextModel) -> list[str]:
    """The files a load needs: the variant's weights only (`*.fp16.safetensors`), or the repository's own."""
    weights = f"*/*.{model.variant}.safetensors" if model.variant else "*/*.safetensors"
    return [*SHARED_FILES, weights]


def resolve_text_model(name: str) -> TextModel:
    name = name.strip()
    if name in TEXT_MODELS:
        return TEXT_MODELS[name]
    for model in TEXT_MODELS.values():
        if name == model.repo_id:
            return model
    path = Path(name).expanduser()
    if path.is_dir():
        check_text_model_folder(path)
        return with_folder_defaults(TextModel(name, path=path), path)
    if HUB_ID.match(name) and not path.exists():
        return TextModel(name, repo_id=name)
    raise ModelError(
        f"unknown text-to-image model '{name}'",
        f"use one of {', '.join(TEXT_MODELS)}, a Hub id such as owner/name, or a local folder in diffusers layout",
    )


def with_folder_defaults(model: TextModel, path: Path) -> TextModel:
    """`model` as its folder describes it: its weights variant, and the steps, guidance and pixel count that its
    `svd_text_defaults.json` states (a model outside the catalogue is known only once it is on disk)."""
    variant = "fp16" if any(path.glob("*/*.fp16.safetensors")) else None
    stated = json.loads((path / DEFAULTS_FILE).read_text()) if (path / DEFAULTS_FILE).is_file() else {}
    known = {key: stated[key] for key in ("steps", "guidance", "pixels") if key in stated}
    return replace(model, variant=variant, **known)


def check_text_model_folder(path: Path) -> None:
    try:
        index = json.loads((path / "model_index.json").read_text())
    except (OSError, ValueError):
        raise ModelError(
            f"'{path}' is not a text-to-image model folder", "it has no readable model_index.json (diffusers layout)"
        ) from None
    if "Video" in str(index.get("_class_name")) or not any((path / part).is_dir() for part in ("unet", "transformer")):
        raise ModelError(f"'{path}' is not a text-to-image model folder", f"it holds a {index.get('_class_name')!s}")


def render_size(video_size: tuple[int, int], pixels: int, multiple: int = 64) -> tuple[int, int]:
    """The size to render a first frame at: the video's aspect at about the model's own pixel count, in multiples
    of 64 (1024x576 -> 1344x768 for a 1-megapixel model)."""
    width, height = video_size
    aspect = width / height
    rendered_height = math.sqrt(pixels / aspect)
    return (
        max(multiple, round(rendered_height * aspect / multiple) * multiple),
        max(multiple, round(rendered_height / multiple) * multiple),
    )


def served_text_models(settings: Settings) -> ServedModels:
    """The text-to-image models the server's page and API offer."""
    catalogue = (*TEXT_MODELS, *(model.repo_id for model in TEXT_MODELS.values() if model.repo_id))
    return ServedModels(settings.t2i_model, settings.models_dir, settings.hub_models, catalogue, "text-to-image model")
