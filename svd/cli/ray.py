"""The command line's `ray-serve`: deploy the Ray Serve back end (svd.serve.ray_serve) on a Ray cluster and wait
until its replicas are up."""

from __future__ import annotations

import argparse
import sys
import time

from ..errors import ModelError
from ..serve.pool import engine_options
from ..settings import Settings

READY_TIMEOUT = 600
"""Seconds to wait for every replica to load its model (a first download of SVD-XT takes minutes)."""


def add_ray_command(commands) -> None:
    settings = Settings.from_env()
    ray_serve = commands.add_parser("ray-serve", help="deploy the video makers on a Ray cluster (docs/scaling.md)")
    address = settings.ray_address or "auto"
    ray_serve.add_argument("--address", default=address, help="the Ray cluster (default %(default)s)")
    ray_serve.add_argument("--replicas", type=int, default=1, help="video makers to run, one per GPU (default 1)")
    ray_serve.add_argument("--num-gpus", type=float, default=1, help="GPUs per replica; 0 runs them on CPUs")
    ray_serve.add_argument("--model", default=settings.model, help="their model (default %(default)s)")
    ray_serve.set_defaults(run=run_ray_serve)


def run_ray_serve(args: argparse.Namespace) -> int:
    from ..serve.ray_serve import deploy, running_replicas

    deploy(args.address, args.replicas, args.num_gpus, args.model, engine_options(Settings.from_env()))
    print(f"deploying {args.replicas} replicas of {args.model} on {args.address}...", file=sys.stderr)
    deadline = time.monotonic() + READY_TIMEOUT
    while (running := running_replicas()) < args.replicas:
        if time.monotonic() > deadline:
            raise ModelError(
                f"only {running} of {args.replicas} replicas started within {READY_TIMEOUT} s",
                "see the Ray dashboard's Serve page for why (a model download, a missing GPU)",
            )
        time.sleep(1)
    print(f"{running} replicas are ready: set SVD_RAY_ADDRESS={args.address} for the WebUI", file=sys.stderr)
    return 0
