"""The container engine the image check drives: podman (Debian's) or docker with BuildKit, from outside the container.

Containers use the host's network only (`--network host`) and are reached on 127.0.0.1; they never get a bridge.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from webui_server import free_port, health, readiness

CHUNK = 16 * 1024 * 1024

RUN_LIMITS = ["--ulimit", "nofile=20000:20000", "--ulimit", "nproc=8192:8192"]
"""Open files and processes a container gets: ample for the app, and within what hardened hosts let a runtime set
(podman's defaults ask for more, which some hosts refuse)."""


@dataclass
class Engine:
    name: str
    command: list[str]
    """The engine and its global options (podman with runc where runc is installed: crun fails on hosts with hybrid
    cgroups)."""

    @classmethod
    def found(cls) -> Engine:
        """podman if installed (launch.sh installs it as root), else a docker whose daemon answers."""
        if shutil.which("podman"):
            return cls("podman", ["podman", *(["--runtime", "runc"] if shutil.which("runc") else [])])
        if shutil.which("docker") and subprocess.run(["docker", "info"], capture_output=True).returncode == 0:
            return cls("docker", ["docker"])
        raise RuntimeError("the image check needs podman, or docker with a running daemon and BuildKit")

    def __call__(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
        done = subprocess.run([*self.command, *args], capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise RuntimeError(f"{self.name} {args[0]} failed ({done.returncode}): {done.stderr[-3000:]}")
        return done

    def build(self, context: Path, tag: str, build_args: dict[str, str], secrets: dict[str, Path],
              mounts: dict[Path, str], log: Path) -> float:  # fmt: skip
        """Build `context` as `tag`; returns the seconds it took. `mounts` (host file: path in the build) are
        read-only build volumes, never stored in a layer; podman takes them, docker's builder has none."""
        options = ["--network", "host", "-t", tag]
        for name, value in build_args.items():
            options += ["--build-arg", f"{name}={value}"]
        for name, source in secrets.items():
            options += ["--secret", f"id={name},src={source}"]
        if self.name == "podman":
            options += ["--format", "docker"]  # podman's default OCI format drops HEALTHCHECK
            for source, target in mounts.items():
                options += ["-v", f"{source}:{target}:ro"]
        previous = self.image_id(tag)
        started = time.monotonic()
        with log.open("a") as output:
            built = subprocess.run([*self.command, "build", *options, str(context)], stdout=output,
                                   stderr=subprocess.STDOUT, env={**os.environ, "DOCKER_BUILDKIT": "1"})  # fmt: skip
        if built.returncode != 0:
            raise RuntimeError(f"building {tag} failed: {log.read_text()[-3000:]}")
        seconds = time.monotonic() - started
        if previous and previous != self.image_id(tag):  # else each changed build leaves gigabytes behind
            self("rmi", previous, check=False)
        return seconds

    @contextmanager
    def saved(self, image: str) -> Iterator[IO[bytes]]:
        """The archive `save` writes for `image`, read from a pipe while it is written: the image (gigabytes) is
        never copied to disk, which a CI machine may not have room for."""
        options = ["--format", "docker-archive"] if self.name == "podman" else []
        with tempfile.TemporaryFile() as errors:
            with subprocess.Popen([*self.command, "save", *options, image], stdout=subprocess.PIPE,
                                  stderr=errors) as save:  # fmt: skip
                yield save.stdout
                while save.stdout.read(CHUNK):  # what the reader left, so that `save` can finish
                    pass
            if save.returncode != 0:
                errors.seek(0)
                raise RuntimeError(f"{self.name} save failed ({save.returncode}): {errors.read()[-3000:].decode()}")

    def image_id(self, tag: str) -> str | None:
        done = self("image", "inspect", "--format", "{{.Id}}", tag, check=False)
        return done.stdout.strip() if done.returncode == 0 else None

    def inspect(self, name: str, kind: str = "container") -> dict:
        return json.loads(self(kind, "inspect", name).stdout)[0]

    def run_once(self, image: str, program: str, *args: str, user: str = "0", check: bool = True):
        """Run `program` in a throwaway container of `image` instead of the app, as root unless `user` is given."""
        options = ["--rm", "--network", "host", *RUN_LIMITS, "--user", user, "--entrypoint", program]
        return self("run", *options, image, *args, check=check)

    def run(self, image: str, volume: Path, user: str | None = None, read_only: bool = False, **env: str) -> Container:
        """Start `image` detached with `volume` at /workspace, on a free port of the host's network."""
        port = free_port()
        name = f"svd-check-{port}"
        mount = f"{volume}:/workspace" + (":ro" if read_only else "")
        options = ["--detach", "--name", name, "--network", "host", *RUN_LIMITS, "-v", mount]
        for key, value in {"PORT": str(port), **env}.items():
            options += ["-e", f"{key}={value}"]
        if user is not None:
            options += ["--user", user]
        started = time.monotonic()
        self("run", *options, image)
        return Container(self, name, f"http://127.0.0.1:{port}", started)


@dataclass
class Container:
    engine: Engine
    name: str
    url: str
    started: float
    """time.monotonic() when `run` was called."""
    ready_states: list[int] = field(default_factory=list)
    """Every `/readyz` status seen while waiting, in order."""

    def logs(self) -> str:
        done = self.engine("logs", self.name, check=False)
        return done.stdout + done.stderr

    def state(self) -> dict:
        return self.engine.inspect(self.name)["State"]

    def wait_up(self, timeout: float = 120) -> None:
        """Wait until the app answers `/healthz`."""
        deadline = time.monotonic() + timeout
        while health(self.url) is None:
            if not self.state()["Running"] or time.monotonic() > deadline:
                raise RuntimeError(f"the app did not start: {self.logs()[-3000:]}")
            time.sleep(0.1)

    def wait_ready(self, timeout: float = 120) -> float:
        """Poll `/readyz` until 200; returns the seconds from `run`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if health(self.url) is not None:
                status, _ = readiness(self.url)
                self.ready_states.append(status)
                if status == 200:
                    return time.monotonic() - self.started
            elif not self.state()["Running"]:
                raise RuntimeError(f"the container exited: {self.logs()[-3000:]}")
            time.sleep(0.05)
        raise TimeoutError(f"/readyz was not 200 after {timeout} s: {self.logs()[-3000:]}")

    def health_status(self) -> str:
        """The engine's health state; podman runs the check when asked (no systemd timer runs it on every host)."""
        if self.engine.name == "podman":
            self.engine("healthcheck", "run", self.name, check=False)
        state = self.state()
        return (state.get("Health") or state.get("Healthcheck") or {}).get("Status", "")

    def stop(self, seconds: int = 10) -> float:
        started = time.monotonic()
        self.engine("stop", "-t", str(seconds), self.name)
        return time.monotonic() - started

    def remove(self) -> None:
        self.engine("rm", "-f", self.name, check=False)
