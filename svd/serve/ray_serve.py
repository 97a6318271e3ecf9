"""Beyond one machine: a Ray Serve deployment with one replica per GPU, each replica an engine with its own model, and
the back end through which a WebUI sends its generations there when `SVD_RAY_ADDRESS` is set.

    python -m svd ray-serve --address auto --replicas 4          # on a machine of the cluster: deploy
    SVD_RAY_ADDRESS=ray://head:10001 ./launch.sh                  # the WebUI, anywhere that reaches the head

The videos come back to the WebUI's machine through Ray (the frames travel as the call's result), so no shared disk is
needed; the WebUI saves them as it saves its own. Ray restarts a replica that dies; the request it was making fails
with a line that says so, and the next one goes to a live replica. Ray is an optional extra (requirements-ray.txt),
imported only here.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..cancel import Cancel
from ..engine import Engine, ProgressCallback
from ..errors import CancelledError, ModelError, SvdError, first_line
from ..logs import setup_logging
from ..request import GenerationRequest
from ..results import EngineStatus, GenerationResult
from .pool import Kept

APP_NAME = "svd"
DEPLOYMENT = "VideoMaker"
PACKAGE = Path(__file__).resolve().parent.parent
"""This package, which Ray ships to the cluster's machines with the deployment (they need our requirements)."""


def _serve():
    try:
        from ray import serve
    except ImportError:
        raise ModelError(
            "Ray is not installed here", "pip install -r requirements-ray.txt, or unset SVD_RAY_ADDRESS"
        ) from None
    return serve


def deploy(address: str, replicas: int, num_gpus: float, model: str, engine_options: dict) -> None:
    """Start (or update) the deployment on the Ray cluster at `address`: `replicas` engines with `num_gpus` each
    (0: on CPUs, for trying it out), making videos of `model` unless a request names another."""
    import ray

    serve = _serve()
    ray.init(address=address, runtime_env={"py_modules": [str(PACKAGE)]}, ignore_reinit_error=True)
    device = "cuda" if num_gpus else "cpu"
    maker = serve.deployment(
        VideoMaker, name=DEPLOYMENT, num_replicas=replicas, max_ongoing_requests=1,
        ray_actor_options={"num_gpus": num_gpus, "num_cpus": 1},
    )  # fmt: skip
    serve.run(maker.bind(device, model, engine_options), name=APP_NAME, route_prefix=None, blocking=False)


class VideoMaker:
    """One replica: an engine on the replica's own GPU (Ray gives each its own), its model loaded at start."""

    def __init__(self, device: str, model: str, engine_options: dict):
        from ray import serve

        setup_logging()  # our own lines, not the libraries' loading bars, in the replica's log
        self.engine = Engine(device, model, **engine_options)
        self.engine.worker = f"ray:{serve.get_replica_context().replica_id.unique_id}"
        self.engine.load()

    def make(self, request: GenerationRequest) -> list[GenerationResult]:
        """The videos, their frames made whole to travel back (an upscale's are made on demand, on this GPU)."""
        results = self.engine.generate_videos(request)
        return [replace(result, frames=np.asarray(result.frames)) for result in results]

    def check_health(self) -> None:
        """Ray Serve's health check: a replica whose model failed is replaced."""
        if self.engine.status.state == "failed":
            raise RuntimeError(self.engine.status.message)


class RayBackend:
    """What the WebUI's runner uses instead of its own engines when `SVD_RAY_ADDRESS` is set: it answers as an
    `EnginePool` does. Model names, settings checks and first frames stay on this machine (`primary`, on its own
    device); videos are made by the cluster's replicas."""

    def __init__(self, address: str, primary: Engine):
        import ray

        serve = _serve()
        self.address = address
        self.primary = primary
        self.engines = [primary]
        ray.init(address=address, runtime_env={"py_modules": [str(PACKAGE)]}, ignore_reinit_error=True)
        try:
            self._handle = serve.get_app_handle(APP_NAME)
        except Exception as error:  # Serve says "application not found" in several exception types
            raise ModelError(
                f"the Ray cluster at {address} has no '{APP_NAME}' deployment ({first_line(error)})",
                "deploy it with python -m svd ray-serve (docs/scaling.md)",
            ) from None
        self._in_flight = 0
        self._count_lock = threading.Lock()
        self._local = threading.Lock()

    @property
    def size(self) -> int:
        """The replicas that are up (at least 1, so the page's queue keeps moving while Ray replaces one)."""
        return max(running_replicas(), 1)

    @property
    def busy(self) -> int:
        with self._count_lock:
            return self._in_flight

    @property
    def status(self) -> EngineStatus:
        running = running_replicas()
        if running:
            replicas, cluster = f"{running} replicas", f"the Ray cluster at {self.address}"
            return EngineStatus("ready", f"{replicas} ready on {cluster}", loaded=f"{replicas} on {cluster}")
        return EngineStatus("loading", f"waiting for the Ray cluster's replicas at {self.address}")

    @contextlib.contextmanager
    def engine(self, index: int | None = None) -> Iterator[Engine]:
        """This machine's engine, for work done here (first frames, finishing)."""
        with self._local:
            yield self.primary

    def load_in_background(self, model: str | None = None) -> None:
        """The replicas load their model when they start; nothing to load here."""

    def make(
        self,
        request: GenerationRequest,
        keep: Callable[[list[GenerationResult]], Kept],
        progress: ProgressCallback | None = None,
        cancel: Cancel | None = None,
        waiting: Callable[[EngineStatus], None] | None = None,
        preview_every: int = 0,
    ) -> Kept:
        """The request's videos from a replica, handed to `keep` here; waited for in short steps so that a cancel
        reaches Ray at once. A replica reports no progress back, so no live previews either."""
        return keep(self._made(request, cancel, waiting))

    def _made(
        self, request: GenerationRequest, cancel: Cancel | None, waiting: Callable[[EngineStatus], None] | None
    ) -> list[GenerationResult]:
        with self._count_lock:
            self._in_flight += 1
        try:
            if waiting is not None:
                waiting(EngineStatus("loading", "sent to the Ray cluster"))
            response = self._handle.make.remote(request)
            while True:
                try:
                    return response.result(timeout_s=0.5)
                except TimeoutError:
                    if cancel is not None and cancel.is_set():
                        response.cancel()
                        raise CancelledError("cancelled while the Ray cluster made it") from None
        except SvdError:
            raise
        except Exception as error:  # the replica died, or raised: one line, never a hang
            cause = getattr(error, "cause", None)
            if isinstance(cause, SvdError):
                raise cause from None
            raise ModelError(
                f"the Ray replica making this video stopped ({type(error).__name__}: {first_line(error)})",
                "try again: Ray replaces a replica that dies",
            ) from None
        finally:
            with self._count_lock:
                self._in_flight -= 1


def running_replicas() -> int:
    """How many of the deployment's replicas are up (0 while none is, or if Serve cannot be asked)."""
    try:
        application = _serve().status().applications.get(APP_NAME)
        deployment = application.deployments[DEPLOYMENT] if application else None
    except Exception:
        return 0
    return deployment.replica_states.get("RUNNING", 0) if deployment else 0
