"""Every GPU of the machine at work: one engine per device, each with its own model on its own device, and a request
taking whichever engine is free. `SVD_DEVICES` names the devices outright (`cuda:0,cuda:1`, or `cpu,cpu` to try it
on a CPU); otherwise `SVD_GPUS` picks the visible GPUs (`all`, or `0,1`), and a machine without one has a single
engine on `SVD_DEVICE`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import torch

from ..cancel import Cancel
from ..engine import Engine, ProgressCallback
from ..errors import InputError
from ..models.speed import parse_speed
from ..request import GenerationRequest
from ..results import EngineStatus, GenerationResult
from ..settings import Settings

Kept = TypeVar("Kept")
"""What a caller of `make` keeps of the videos (their saved files)."""

STATE_ORDER = ("failed", "downloading", "loading", "idle", "ready")
"""The pool's status is its engines' worst: a failure shows first, then a download, a load, then an engine idle."""


def pool_devices(settings: Settings) -> list[str]:
    """The devices to run one engine each on, from the settings."""
    if settings.devices:
        return list(settings.devices)
    if settings.device == "cpu" or not torch.cuda.is_available():
        return [settings.device]
    count = torch.cuda.device_count()
    if settings.gpus == "all":
        return [f"cuda:{index}" for index in range(count)]
    indices = [part.strip() for part in settings.gpus.split(",") if part.strip()]
    unknown = [index for index in indices if not index.isdigit() or int(index) >= count]
    if not indices or unknown:
        raise InputError(
            f"SVD_GPUS={settings.gpus} names GPUs that are not there ({', '.join(unknown) or 'none'})",
            f"use all, or indices from 0 to {count - 1} such as 0,1",
        )
    return [f"cuda:{index}" for index in indices]


def engine_options(settings: Settings) -> dict:
    """What every engine of a server takes from the settings, besides its device and model."""
    return dict(
        speed=parse_speed(settings.speed),
        default_depth_model=settings.depth_model,
        interpolator=settings.interpolator,
        upscaler=settings.upscaler,
        limits=settings.limits,
    )


class EnginePool:
    """The engines of one process, one per device; `engine()` lends a free one for one job."""

    def __init__(self, engines: list[Engine]):
        self.engines = engines
        for index, engine in enumerate(engines):
            engine.worker = str(index)
        self._free = list(range(len(engines)))
        self._available = threading.Condition()

    @classmethod
    def from_settings(cls, settings: Settings, model: str | None = None, **engine_options) -> EnginePool:
        """An engine per device of the settings, each with `model` (else the settings' model) as its default."""
        devices = pool_devices(settings)
        return cls([Engine(device, model or settings.model, **engine_options) for device in devices])

    @property
    def primary(self) -> Engine:
        """The first engine: it answers what does not need a GPU of its own (model names, previews)."""
        return self.engines[0]

    @property
    def size(self) -> int:
        return len(self.engines)

    @property
    def busy(self) -> int:
        """How many engines are lent out now."""
        with self._available:
            return self.size - len(self._free)

    @property
    def status(self) -> EngineStatus:
        return min((engine.status for engine in self.engines), key=lambda status: STATE_ORDER.index(status.state))

    @contextlib.contextmanager
    def engine(self, index: int | None = None) -> Iterator[Engine]:
        """A free engine (engine `index`, if given), waited for, and given back after."""
        with self._available:
            self._available.wait_for(lambda: (index in self._free) if index is not None else bool(self._free))
            taken = index if index is not None else self._free[0]
            self._free.remove(taken)
        try:
            yield self.engines[taken]
        finally:
            with self._available:
                self._free.append(taken)
                self._free.sort()
                self._available.notify_all()

    def load_in_background(self, model: str | None = None) -> None:
        for engine in self.engines:
            engine.load_in_background(model)

    def make(
        self,
        request: GenerationRequest,
        keep: Callable[[list[GenerationResult]], Kept],
        progress: ProgressCallback | None = None,
        cancel: Cancel | None = None,
        waiting: Callable[[EngineStatus], None] | None = None,
        preview_every: int = 0,
    ) -> Kept:
        """The request's videos, on the first engine free, handed to `keep` (which saves them) while that engine is
        still held: an upscaled video's frames are made on it as they are written. `waiting(status)` is told
        while its model downloads or loads; `preview_every`: live previews in the progress (`Engine.generate`)."""
        with self.engine() as engine:
            while engine.status.state in ("downloading", "loading"):
                if waiting is not None:
                    waiting(engine.status)
                time.sleep(0.5)
            return keep(engine.generate_videos(request, progress, cancel, preview_every))
