"""The finishing stages' models (RIFE for interpolation, a Real-ESRGAN-family upscaler): loaded on the engine's
device on first use, downloaded into the shared cache if needed, and kept for the next video."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import numpy as np
import torch

from ..cancel import Cancel
from ..errors import ModelError
from ..media.frames import Frames, LazyFrames
from ..models.download import ProgressReport
from .interpolate import MINTERPOLATE, minterpolate
from .rife import DEFAULT_RIFE, RIFE_WEIGHTS, interpolate_frames, load_rife
from .upscale import DEFAULT_UPSCALER, UPSCALERS, load_upscaler, upscale_frames
from .weights import WeightsFile, fetch_weights, resolve_weights

logger = logging.getLogger("svd")


@dataclass(frozen=True)
class FinishingWork:
    """FLOPs per pixel of the finishing networks: RIFE per pixel of each new frame, the upscaler per input pixel."""

    interpolate: float
    upscale: float


@dataclass(frozen=True)
class Interpolated:
    frames: np.ndarray
    method: str
    """The RIFE weights' name, or `minterpolate`."""
    note: str | None = None
    """Why RIFE was not used, when it was wanted."""


class FinishModels:
    def __init__(
        self,
        device: torch.device,
        dtype: torch.dtype,
        interpolator: str = DEFAULT_RIFE,
        upscaler: str = DEFAULT_UPSCALER,
        on_progress: ProgressReport | None = None,
    ):
        self.device = device
        self.dtype = dtype
        self.interpolator = interpolator
        """A RIFE catalogue name or weights file, or `minterpolate` for ffmpeg alone."""
        self.default_upscaler = upscaler
        self.on_progress = on_progress
        self._loaded: dict[tuple[str, str], object] = {}
        self._lock = threading.Lock()

    def interpolate(self, frames: np.ndarray, factor: int, fps: int, cancel: Cancel | None = None) -> Interpolated:
        """RIFE when its weights load; otherwise ffmpeg's minterpolate, with the reason as a note."""
        if self.interpolator == MINTERPOLATE:
            return Interpolated(minterpolate(frames, factor, fps, cancel), MINTERPOLATE)
        try:
            model = self._model("interpolation", self.interpolator)
        except ModelError as error:
            note = f"RIFE was not available ({error.cause}), so ffmpeg's minterpolate made the in-between frames"
            logger.warning(note)
            return Interpolated(minterpolate(frames, factor, fps, cancel), MINTERPOLATE, note)
        with self._lock:
            frames = interpolate_frames(model, frames, factor, self.device, self.dtype, cancel)
        return Interpolated(frames, self.interpolator)

    def upscale(self, frames: Frames, size: tuple[int, int], upscaler: str | None = None) -> LazyFrames:
        """The frames at `size`, each upscaled when it is read (by the writer, on the engine that made them)."""
        return upscale_frames(self._model("upscaler", upscaler or self.default_upscaler), frames, size)

    def work(self, upscaler: str | None = None) -> FinishingWork:
        """What the finishing networks compute per pixel, for a request's cost; weights outside the catalogue (and
        ffmpeg's minterpolate) count as the costliest network of their kind."""
        return FinishingWork(
            interpolate=_flops_per_pixel(self.interpolator, RIFE_WEIGHTS),
            upscale=_flops_per_pixel(upscaler or self.default_upscaler, UPSCALERS),
        )

    def check_upscaler(self, name: str) -> None:
        """Refuse an upscaler that is neither in the catalogue nor a file, before any work."""
        resolve_weights(name, UPSCALERS, "upscaler")

    def _model(self, kind: str, name: str):
        key = (kind, name)
        with self._lock:
            if key not in self._loaded:
                catalogue, load = (RIFE_WEIGHTS, load_rife) if kind == "interpolation" else (UPSCALERS, load_upscaler)
                weights = resolve_weights(name, catalogue, kind)
                path = fetch_weights(weights, self.on_progress)
                self._loaded = {loaded: model for loaded, model in self._loaded.items() if loaded[0] != kind}
                self._loaded[key] = load(path, self.device, self.dtype)
            return self._loaded[key]


def _flops_per_pixel(name: str, catalogue: dict[str, WeightsFile]) -> float:
    if name in catalogue:
        return catalogue[name].flops_per_pixel
    return max(weights.flops_per_pixel for weights in catalogue.values())
