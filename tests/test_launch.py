"""`launch.sh` run for real (outside a container): data folder, GPU report, health check and a clean SIGTERM."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import pytest
from conftest import REPO_ROOT, TINY_REPO
from mounts import read_only
from webui_server import Server, health, readiness, start_server


def launch(tmp_path: Path, script: Path = REPO_ROOT / "launch.sh", **env: str):
    """`./launch.sh` with this test run's interpreter as the prepared environment (no install)."""
    return start_server(tmp_path, command=[str(script)], SVD_PYTHON=sys.executable, SVD_OUTPUT_DIR="", **env)


def app_folder(folder: Path) -> Path:
    """`folder` laid out as the image's /app: what the Dockerfile copies there."""
    folder.mkdir()
    shutil.copy2(REPO_ROOT / "requirements.txt", folder)
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    for item in re.findall(r"^COPY (?:--chmod=\d+ )?(\w[\w.]*) \./", dockerfile, re.MULTILINE):
        if (REPO_ROOT / item).is_dir():
            shutil.copytree(REPO_ROOT / item, folder / item, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(REPO_ROOT / item, folder / item)
    return folder


@pytest.fixture(scope="module")
def launched(tiny_model, tmp_path_factory) -> Iterator[dict[str, Future[Server]]]:
    """The servers of the tests below that need nothing set up while they start, all started at once: a start is
    seconds of imports on one core, so two cores overlap them. Each test takes its own (`launched[name].result()`,
    which waits until it answers) and stops it; its start's failure is that test's. By name: `health` (SVD_DATA_DIR),
    `pid-1` (in a PID namespace, as in a container), `volume` (a writable SVD_VOLUME), `app` (the image's /app with no
    volume: `app_folder`), `read-only` (a read-only SVD_VOLUME, kept read-only until the module ends)."""
    folder = {name: tmp_path_factory.mktemp(name) for name in ("health", "pid-1", "volume", "app", "read-only")}
    (folder["volume"] / "workspace").mkdir()
    app = app_folder(folder["app"] / "app")
    in_a_container = ["unshare", "--pid", "--fork", "--kill-child", str(REPO_ROOT / "launch.sh")]
    with ExitStack() as stack, ThreadPoolExecutor(len(folder)) as starting:
        read_only_volume = stack.enter_context(read_only(folder["read-only"] / "workspace"))

        def start(name: str, script: Path = REPO_ROOT / "launch.sh", **env: str) -> Future[Server]:
            return starting.submit(launch, folder[name], script, SVD_MODEL=str(tiny_model), **env)

        launches = {
            "health": start("health", SVD_DATA_DIR=str(folder["health"] / "data"), HF_HOME=""),
            "pid-1": starting.submit(
                start_server, folder["pid-1"], command=in_a_container, SVD_PYTHON=sys.executable,
                SVD_MODEL=str(tiny_model), SVD_DATA_DIR=str(folder["pid-1"] / "data"), HF_HOME="",
            ),
            "volume": start("volume", SVD_VOLUME=str(folder["volume"] / "workspace"), HF_HOME=""),
            "app": start("app", app / "launch.sh", SVD_VOLUME=str(folder["app"] / "none")),
            "read-only": start("read-only", SVD_VOLUME=str(read_only_volume), HF_HOME=""),
        }  # fmt: skip
        try:
            yield launches
        finally:
            for started in launches.values():
                if started.exception() is None:
                    started.result().stop()


def stop_within(process: subprocess.Popen, seconds: float) -> float:
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    process.wait(seconds)
    return time.monotonic() - started


def test_serves_reports_health_and_stops_on_sigterm(launched):
    server = launched["health"].result()
    data = server.log.parent / "data"
    try:
        server.wait_for_model()
        checked = subprocess.run(
            [str(REPO_ROOT / "launch.sh"), "health"],
            env={**os.environ, "SVD_PYTHON": sys.executable, "PORT": server.url.rsplit(":", 1)[1]},
            capture_output=True,
            timeout=60,
        )
        assert checked.returncode == 0
        assert stop_within(server.process, 15) < 15
    finally:
        server.stop()
    log = server.log.read_text()
    assert f"[launch] data in {data}" in log
    assert "warning: no NVIDIA GPU found" in log or "[launch] GPU" in log
    assert f"[svd] serving on {server.url} (a public link too: --share)" in log
    assert "share=True" not in log  # Gradio's own hint names its Python argument, not our --share
    assert (data / "huggingface").is_dir() and (data / "outputs").is_dir() and (data / "models").is_dir()
    assert "Traceback" not in log
    assert health(server.url) is None
    down = subprocess.run(
        [str(REPO_ROOT / "launch.sh"), "health"],
        env={**os.environ, "SVD_PYTHON": sys.executable, "PORT": server.url.rsplit(":", 1)[1]},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert down.returncode == 1 and down.stderr.startswith("unhealthy: nothing answers on port")
    assert "Traceback" not in down.stderr


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"), reason="needs root and unshare")
def test_sigterm_while_the_model_downloads_stops_at_once(tiny_model_fp16, hub, tmp_path):
    """`docker stop` during the first download: the server closes and exits 0, not waiting for the weights."""
    hub.delay = 1.0  # seconds per file, so the download is still going when the signal comes
    try:
        server = launch(tmp_path, SVD_MODEL=TINY_REPO, SVD_DATA_DIR=str(tmp_path / "data"), HF_HOME="")
        try:
            server.wait_for_model(states=("downloading",))
            assert stop_within(server.process, 10) < 10
        finally:
            server.stop()
    finally:
        hub.delay = 0.0
    log = server.log.read_text()
    assert server.process.returncode == 0, log
    assert "Traceback" not in log and "terminate called" not in log and "[svd] stopping" in log


def test_sigterm_stops_the_server_as_pid_1_like_docker_stop(launched):
    """In a container the server is PID 1, where SIGTERM does nothing unless the program handles it."""
    namespaced = launched["pid-1"].result()  # unshare --pid --fork --kill-child launch.sh
    try:
        namespaced.wait_for_model()
        unshare = namespaced.process.pid
        init = int(Path(f"/proc/{unshare}/task/{unshare}/children").read_text().split()[0])
        assert Path(f"/proc/{init}/status").read_text().split("NSpid:")[1].splitlines()[0].split()[-1] == "1"
        os.kill(init, signal.SIGTERM)
        namespaced.process.wait(15)
    finally:
        namespaced.stop()
    assert health(namespaced.url) is None


def test_data_folder_falls_back_from_the_volume_to_the_app_folder(launched):
    server = launched["volume"].result()
    server.stop()
    assert f"[launch] data in {server.log.parent}/workspace/svd" in server.log.read_text()

    server = launched["app"].result()  # the image's /app (app_folder), SVD_VOLUME a folder that is not there
    server.stop()
    app = server.log.parent / "app"
    assert {"launch.sh", "webui.py", "svd", "ui"} <= {path.name for path in app.iterdir()}
    assert f"[launch] data in {app}/data" in server.log.read_text()


def test_a_read_only_volume_is_said_and_the_app_serves_without_saving(launched):
    """No quiet fallback to a folder a container loses: the log and the page say the volume cannot be written."""
    server = launched["read-only"].result()  # SVD_VOLUME a read-only folder
    volume = server.log.parent / "workspace"
    try:
        server.wait_for_model()
        status, answer = readiness(server.url)
        assert status == 503 and answer["output"] != "ok"
    finally:
        server.stop()
    log = server.log.read_text()
    assert f"[launch] error: the data folder {volume}/svd cannot be written by uid {os.getuid()}" in log
    assert "Traceback" not in log


def test_the_image_check_without_an_engine_or_a_way_to_install_one_says_what_it_needs(tmp_path):
    tools = tmp_path / "bin"  # a PATH with the shell's basics only: no podman, docker or apt-get
    tools.mkdir()
    for name in ("bash", "dirname", "readlink", "id"):
        (tools / name).symlink_to(shutil.which(name))
    result = subprocess.run([str(REPO_ROOT / "launch.sh"), "image-check"], env={"PATH": str(tools)},
                            capture_output=True, text=True, timeout=30)  # fmt: skip
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("error: the image check needs a container engine: install podman")
    assert len(result.stderr.strip().splitlines()) == 1


def test_unknown_command_is_a_usage_error():
    result = subprocess.run([str(REPO_ROOT / "launch.sh"), "fly"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and result.stderr.startswith("usage: ./launch.sh")
