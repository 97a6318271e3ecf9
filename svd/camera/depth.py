"""Monocular depth for the camera's orbit move: a picture in, relative disparity (1 is nearest) out.

A depth model is named like an SVD model: a catalogue id (`depth-anything-v2-small`), a Hub id (`owner/name`) or a
local folder in transformers layout (config.json, preprocessor_config.json, model.safetensors). It is fetched into the
same Hugging Face cache by `svd.models.download` and run through transformers' `depth-estimation` pipeline, which
picks the Pillow image processor when torchvision is not installed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from transformers import Pipeline, pipeline
from transformers.models.auto.modeling_auto import MODEL_FOR_DEPTH_ESTIMATION_MAPPING_NAMES

from ..errors import ModelError, first_line
from ..models.download import cached_model_path, download_model
from ..models.names import HUB_ID

DEPTH_MODELS = {"depth-anything-v2-small": "depth-anything/Depth-Anything-V2-Small-hf"}
"""Catalogue id → Hub id. Only Apache-2.0 models: the larger Depth-Anything-V2 sizes are CC-BY-NC."""
DEFAULT_DEPTH_MODEL = "depth-anything-v2-small"

DEPTH_FILES = ["config.json", "preprocessor_config.json", "*.safetensors"]
"""The files of a depth repository that a load needs (`allow_patterns` for `svd.models.download`)."""

METRIC_MODEL_TYPES = frozenset({"zoedepth", "depth_pro", "glpn"})
"""Depth model types that predict metric depth (far is large) rather than relative inverse depth (near is large)."""

_EXPECTED = "a transformers depth-estimation model (config.json, preprocessor_config.json, model.safetensors)"

ProgressReport = Callable[[int, int], None]


@dataclass(frozen=True)
class DepthSource:
    """A resolved depth model name: either a Hub repository to fetch, or a folder on disk."""

    name: str
    repo_id: str | None = None
    path: Path | None = None


def resolve_depth_model(name: str) -> DepthSource:
    """Turn a catalogue id, Hub id or folder into a `DepthSource` without touching the network."""
    name = name.strip()
    if name in DEPTH_MODELS:
        return DepthSource(name=name, repo_id=DEPTH_MODELS[name])
    for catalogue_id, repo_id in DEPTH_MODELS.items():
        if name == repo_id:
            return DepthSource(name=catalogue_id, repo_id=repo_id)
    path = Path(name).expanduser()
    if path.is_dir():
        check_depth_folder(path)
        return DepthSource(name=name, path=path)
    if HUB_ID.match(name) and not path.exists():
        return DepthSource(name=name, repo_id=name)
    raise ModelError(
        f"unknown depth model '{name}'",
        f"use {', '.join(DEPTH_MODELS)}, a Hub id such as owner/name, or a local folder holding {_EXPECTED}",
    )


def check_depth_folder(path: Path) -> None:
    """Raise a `ModelError` unless `path` holds a depth-estimation model in transformers layout."""
    not_depth = f"'{path}' is not a depth model folder"
    try:
        config = json.loads((path / "config.json").read_text())
    except FileNotFoundError:
        raise ModelError(not_depth, f"it has no config.json; expected {_EXPECTED}") from None
    except (OSError, ValueError) as error:
        raise ModelError(not_depth, f"config.json is unreadable ({first_line(error)}); save the model again") from None
    model_type = config.get("model_type") if isinstance(config, dict) else None
    if model_type not in MODEL_FOR_DEPTH_ESTIMATION_MAPPING_NAMES:
        raise ModelError(not_depth, f"it holds a {model_type!s} model, expected {_EXPECTED}")
    missing = [] if (path / "preprocessor_config.json").is_file() else ["preprocessor_config.json"]
    if not any(path.glob("*.safetensors")):
        missing.append("model.safetensors")
    if missing:
        raise ModelError(f"'{path}' is not a complete depth model folder", f"it lacks {', '.join(missing)}")


def fetch_depth_model(source: DepthSource, on_progress: ProgressReport | None = None) -> Path:
    """The folder of a resolved depth model: as given, from the cache, or downloaded into the cache."""
    if source.path is not None:
        return source.path
    assert source.repo_id is not None
    cached = cached_model_path(source.repo_id, allow_patterns=DEPTH_FILES)
    return cached or download_model(source.repo_id, on_progress=on_progress, allow_patterns=DEPTH_FILES)


def normalise_disparity(disparity: torch.Tensor) -> np.ndarray:
    """Min-max scale to float32 [0, 1]; a constant map (nothing to tell apart) becomes 0.5 everywhere."""
    values = disparity.detach().to(device="cpu", dtype=torch.float32)
    low, high = values.min(), values.max()
    if not torch.isfinite(high - low) or high - low <= 1e-12:
        return np.full(tuple(values.shape), 0.5, np.float32)
    return ((values - low) / (high - low)).numpy().astype(np.float32, copy=False)


class DepthEstimator:
    """Holds one loaded depth model and estimates relative disparity maps with it.

    The model is kept between calls; `load` reloads only for another model, device or dtype, and a load that fails
    leaves the model that was loaded in place.
    """

    def __init__(self) -> None:
        self._pipe: Pipeline | None = None
        self._key: tuple[str, torch.device, torch.dtype] | None = None
        self._metric = False

    @property
    def name(self) -> str | None:
        """The loaded model as resolved (catalogue id, Hub id or folder), for the sidecar; None before a load."""
        return self._key[0] if self._key else None

    def load(
        self,
        name: str = DEFAULT_DEPTH_MODEL,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
        on_progress: ProgressReport | None = None,
    ) -> None:
        """Load the model `name` (downloading it first if it is not cached) unless it is already loaded.

        `on_progress(done_bytes, total_bytes)` is called while a download runs."""
        source = resolve_depth_model(name)
        key = (source.name, torch.device(device), dtype)
        if key == self._key:
            return
        path = fetch_depth_model(source, on_progress)
        try:
            pipe = pipeline("depth-estimation", model=str(path), device=key[1], dtype=dtype)
        except Exception as error:  # transformers raises many kinds for a broken or foreign folder
            where = f"the folder {path}" if source.path else f"{source.repo_id} (cached in {path})"
            raise ModelError(
                f"cannot load the depth model {source.name} ({first_line(error)})",
                f"check that {where} holds {_EXPECTED}; download it again if its files are damaged",
            ) from None
        self._pipe, self._key = pipe, key
        config = pipe.model.config
        self._metric = config.model_type in METRIC_MODEL_TYPES or (
            getattr(config, "depth_estimation_type", "relative") == "metric"
        )

    def unload(self) -> None:
        """Let go of the model, so its memory can be freed."""
        self._pipe, self._key = None, None

    def estimate(self, picture: Image.Image) -> np.ndarray:
        """Relative disparity of `picture` as float32 (height, width) in [0, 1], 1 nearest."""
        if self._pipe is None:
            raise RuntimeError("load a depth model before estimating depth")
        rgb = picture if picture.mode == "RGB" else picture.convert("RGB")
        with np.errstate(divide="ignore", invalid="ignore"):  # the pipeline's preview image divides by the range
            predicted = self._pipe(rgb)["predicted_depth"]
        predicted = predicted.detach().float().reshape(predicted.shape[-2:])
        size = (picture.height, picture.width)
        if tuple(predicted.shape) != size:  # transformers 5 already resizes it to the picture; older versions do not
            predicted = torch.nn.functional.interpolate(predicted[None, None], size=size, mode="bilinear")[0, 0]
        if self._metric:
            predicted = 1.0 / predicted.clamp(min=1e-6)
        return normalise_disparity(predicted)
