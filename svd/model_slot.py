"""The engine's one loaded model: which model a name means, loading it (downloading it first when it is not in the
cache) so that the model loaded before stays until the new one is ready, and stays if the new one fails, and the
status the page and the health check show meanwhile."""

from __future__ import annotations

import contextlib
import logging
import threading

import torch

from .errors import SvdError
from .families.catalogue import ModelSource, resolve_model
from .families.family import LoadedModel
from .families.loading import load_model
from .models.download import download_reporter
from .models.memory import release_memory
from .results import EngineStatus

logger = logging.getLogger("svd")


class ModelSlot:
    def __init__(
        self, device: torch.device, device_name: str, dtype: torch.dtype, default_model: str, lock: threading.RLock
    ):
        self.device = device
        self.device_name = device_name
        self.dtype = dtype
        self.default_model = default_model
        self.loaded: LoadedModel | None = None
        self.status = EngineStatus("idle", "no model loaded")
        self._default_failure: EngineStatus | None = None
        self._lock = lock
        """The engine's: a load waits for a generation to end, and the other way round."""

    def source(self, model: str | None = None) -> ModelSource:
        """Resolve a model name without loading it (the loaded model's source if it is the same name)."""
        name = model or self.default_model
        loaded = self.loaded.source if self.loaded is not None else None
        if loaded is not None and (name == loaded.name or (name == loaded.repo_id and not loaded.hub_files)):
            return loaded
        return resolve_model(name)

    def load(self, model: str | None = None) -> LoadedModel:
        """Make `model` the loaded model, downloading it first if it is not in the cache."""
        is_default = model in (None, self.default_model)
        with self._lock:
            try:
                source = self.source(model)
                if self.loaded is None or self.loaded.source != source:
                    loaded = self._load(source)
                    self.loaded = None
                    release_memory(self.device)
                    self.loaded = loaded
                    logger.info(f"{source.name} is ready")
            except SvdError as error:
                logger.error(f"the model cannot be used: {error}")
                if is_default:
                    self._default_failure = EngineStatus("failed", error.cause, advice=error.advice)
                self.status = self._settled_status()
                raise
            if is_default:
                self._default_failure = None
            self.status = self._settled_status()
            return self.loaded

    def load_in_background(self, model: str | None = None) -> threading.Thread:
        """Start loading (and if needed downloading) `model`; `status` tells how it goes."""
        self.status = EngineStatus("loading", f"preparing {model or self.default_model}")

        def load_quietly() -> None:
            with contextlib.suppress(SvdError):  # the status holds the reason
                self.load(model)

        thread = threading.Thread(target=load_quietly, name="svd-load", daemon=True)
        thread.start()
        return thread

    def unload(self) -> None:
        with self._lock:
            self.loaded = None
            release_memory(self.device)
            self.status = self._settled_status()

    def _settled_status(self) -> EngineStatus:
        """The status once nothing is under way: the loaded model, or else why the server's model failed."""
        if self.loaded is not None:
            source = self.loaded.source
            notice = f"; {source.defaults.notice}" if source.defaults.notice else ""
            loaded = f"{source.shown} on {self.device_name}{notice}"
            return EngineStatus("ready", f"{source.shown} is ready on {self.device_name}{notice}", loaded=loaded)
        return self._default_failure or EngineStatus("idle", "no model loaded")

    def _load(self, source: ModelSource) -> LoadedModel:
        def tell(status: EngineStatus) -> None:
            self.status = status

        def downloading(text: str, fraction: float | None) -> None:
            self.status = EngineStatus("downloading", text, fraction)

        return load_model(source, self.dtype, tell, lambda name: download_reporter(name, downloading))
