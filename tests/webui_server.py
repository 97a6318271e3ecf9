"""Start `webui.py` as a real server process on a free port and wait until it answers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def health(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
            return json.loads(response.read())
    except OSError:
        return None


def readiness(url: str) -> tuple[int, dict]:
    """`/readyz`: its status code (200 or 503) and its answer."""
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path
    output_dir: Path

    def log_since(self, offset: int) -> str:
        """What the server logged after `offset` characters (take the offset with `len(server.log.read_text())`)."""
        return self.log.read_text()[offset:]

    def wait_for_model(self, states=("ready",), timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = health(self.url)
            if status and status["model"] in states:
                return status
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited: {self.log.read_text()[-2000:]}")
            time.sleep(0.1)
        raise TimeoutError(f"the model did not reach {states}: {health(self.url)}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_server(tmp_path: Path, command: list[str] | None = None, **env: str) -> Server:
    """Run `python webui.py` (or `command`) with `env` on a free port; return once `/healthz` answers."""
    port = free_port()
    log = tmp_path / f"server-{port}.log"
    environment = {**os.environ, "PORT": str(port), "SVD_OUTPUT_DIR": str(tmp_path / "outputs"), **env}
    process = subprocess.Popen(
        command or [sys.executable, "webui.py"],
        cwd=REPO_ROOT,
        env=environment,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = Server(f"http://127.0.0.1:{port}", process, log, Path(environment["SVD_OUTPUT_DIR"]))
    deadline = time.monotonic() + 90
    while health(server.url) is None:
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"the server did not start: {log.read_text()[-2000:]}")
        time.sleep(0.2)
    return server
