"""The Docker image built from this checkout and run for real, checked from outside the container: build, size,
health, readiness, an API generation into the volume, users, stop and restart, a read-only volume, a baked model
used offline, and no build secret or certificate of this machine in any layer. `./launch.sh image-check` runs it.

Where the CUDA base cannot be pulled, the image is built on a stand-in Debian base (mmdebstrap), and where PyTorch's
own index cannot be reached, from PyPI's torch wheels; the Dockerfile is the same.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from chromium import launch_chromium, open_page
from conftest import REPO_ROOT, TINY_REPO, write_picture
from containers import Container, Engine
from gradio_client import Client, handle_file
from layers import SavedImage, largest_paths
from mp4 import decode
from playwright.sync_api import expect

from svd.output.history import list_history

DOCKERFILE = (REPO_ROOT / "Dockerfile").read_text()
DEFAULTS = dict(re.findall(r"^ARG (\w+)=(\S*)$", DOCKERFILE, re.MULTILINE))
STAND_IN_BASE = "localhost/svd-base:bookworm"
PYPI_INDEX = "https://pypi.org/simple"
PLAIN, BAKED = "localhost/svd-studio:check", "localhost/svd-studio:check-baked"
BAKED_REPO = "svd-tests/baked-svd"
MODEL_ON_VOLUME = "/workspace/svd/models/tiny"
HEALTH_START_PERIOD = float(re.search(r"--start-period=(\d+)s", DOCKERFILE)[1])
CERTIFICATES = "/etc/ssl/certs/ca-certificates.crt"
"""Where Debian and Ubuntu keep the system's certificate bundle (in the base image, and on most build hosts)."""


class Report:
    """What the check measured, shown in pytest's summary at the end (docs/publishing.md records it)."""

    def __init__(self) -> None:
        self.measured: dict[str, str] = {}

    def pytest_terminal_summary(self, terminalreporter) -> None:
        terminalreporter.write_sep("=", "image check: measured")
        for key, value in self.measured.items():
            terminalreporter.write_line(f"{key}: {value}")


@pytest.fixture(scope="session")
def report(request) -> dict[str, str]:
    shown = Report()
    request.config.pluginmanager.register(shown, "image-check-report")
    return shown.measured


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine.found()


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("image")


@pytest.fixture(scope="session")
def base_args(engine, workdir, report) -> dict[str, str]:
    """The Dockerfile's own base and wheel index where this machine reaches them, else the stand-ins."""
    args = {}
    if engine("pull", DEFAULTS["CUDA_IMAGE"], check=False, timeout=1800).returncode != 0:
        args["CUDA_IMAGE"] = stand_in_base(engine, workdir)
    try:
        urllib.request.urlopen(DEFAULTS["TORCH_INDEX"] + "/torch/", timeout=20).close()
    except OSError:
        args["TORCH_INDEX"] = PYPI_INDEX
    report["base"] = args.get("CUDA_IMAGE", DEFAULTS["CUDA_IMAGE"])
    report["torch wheels"] = args.get("TORCH_INDEX", DEFAULTS["TORCH_INDEX"])
    return args


def stand_in_base(engine: Engine, workdir: Path) -> str:
    """Debian 12 with its certificates, as the stand-in for the CUDA base (built once per machine)."""
    if engine("image", "inspect", STAND_IN_BASE, check=False).returncode == 0:
        return STAND_IN_BASE
    if not shutil.which("mmdebstrap"):
        pytest.fail("the CUDA base cannot be pulled and mmdebstrap is missing: apt-get install mmdebstrap")
    tarball = workdir / "base.tar"
    subprocess.run(["mmdebstrap", "--quiet", "--variant=minbase", "--include=ca-certificates", "bookworm",
                    str(tarball)], check=True)  # fmt: skip
    engine("import", str(tarball), STAND_IN_BASE)
    tarball.unlink()
    return STAND_IN_BASE


@pytest.fixture(scope="session")
def build_mounts() -> dict[Path, str]:
    """This machine's certificate bundle, handed to the build's steps (pip and the bake reach the registries
    through it) as a read-only volume: it is never part of a layer."""
    bundle = next(
        (Path(value) for value in (os.environ.get("SSL_CERT_FILE"), os.environ.get("PIP_CERT"), CERTIFICATES)
         if value and Path(value).is_file()),
        None,
    )  # fmt: skip
    return {bundle: CERTIFICATES} if bundle else {}


@pytest.fixture(scope="session")
def plain_image(engine, base_args, build_mounts, workdir, report) -> str:
    seconds = engine.build(REPO_ROOT, PLAIN, base_args, {}, build_mounts, workdir / "build.log")
    report["build"] = f"{seconds:.0f} s ({PLAIN})"
    return PLAIN


@pytest.fixture(scope="session")
def token() -> str:
    return f"hf_{secrets.token_hex(16)}"


@pytest.fixture(scope="session")
def baked_image(engine, plain_image, base_args, build_mounts, workdir, hub, tiny_model_fp16, token, report) -> str:
    """The image with the tiny model baked in from a gated repository of the fake Hub (over the host's network),
    fetched with `token` handed in as a build secret."""
    hub.serve(BAKED_REPO, tiny_model_fp16)
    hub.gated.add(BAKED_REPO)
    hub.tokens[BAKED_REPO] = token
    secret = workdir / "hf_token"
    secret.write_text(token)
    args = {**base_args, "BAKE_MODEL": BAKED_REPO, "BAKE_ENDPOINT": hub.url}
    seconds = engine.build(REPO_ROOT, BAKED, args, {"hf_token": secret}, build_mounts, workdir / "build.log")
    secret.unlink()
    report["build with a baked model, after the plain one"] = f"{seconds:.0f} s ({BAKED})"
    return BAKED


@pytest.fixture(scope="session")
def volume(tmp_path_factory, tiny_model) -> Path:
    """A marketplace volume for uid 1000 (group 0), with a tiny model in the studio's models folder."""
    folder = tmp_path_factory.mktemp("workspace")
    shutil.copytree(tiny_model, folder / "svd" / "models" / "tiny")
    chown_tree(folder, 1000, 0)
    folder.chmod(0o775)
    return folder


def chown_tree(folder: Path, uid: int, gid: int) -> None:
    for path in [folder, *folder.rglob("*")]:
        os.chown(path, uid, gid)


@pytest.fixture
def containers(engine):
    """Started containers, removed after the test whatever happens."""
    started: list[Container] = []
    yield started
    for container in started:
        container.remove()


def generate(container: Container, folder: Path) -> tuple[Path, dict]:
    picture = write_picture(folder / f"photo-{time.monotonic_ns()}.png")
    video, _, record = Client(container.url, verbose=False).predict(
        handle_file(str(picture)), frames=2, steps=1, api_name="/generate"
    )
    return Path(video), record


def test_first_start_downloads_into_the_volume_turns_healthy_and_ready_and_makes_an_api_video(
    engine, plain_image, volume, hub, tiny_model_fp16, containers, tmp_path, report
):
    """A renter's first start: the model comes from the Hub (the fake one, slowed down) into the volume, `/readyz`
    answers 503 all the while, then 200; the health check turns healthy within its start period."""
    hub.delay = 0.3  # seconds per file: a download long enough to be seen
    try:
        container = engine.run(plain_image, volume, SVD_MODEL=TINY_REPO, HF_ENDPOINT=hub.url)
        containers.append(container)
        report["run to /readyz 200, tiny model downloaded into the volume"] = f"{container.wait_ready():.1f} s"
    finally:
        hub.delay = 0.0
    states = container.ready_states
    assert states.count(503) >= 5 and set(states[:-1]) == {503} and states[-1] == 200, states
    assert any((volume / "svd" / "huggingface").rglob("*.safetensors"))
    health = ""
    while time.monotonic() - container.started < HEALTH_START_PERIOD and health != "healthy":
        health = container.health_status()
        time.sleep(1)
    assert health == "healthy", container.logs()[-2000:]

    video, record = generate(container, tmp_path)
    decoded = decode(video)
    assert decoded.frames.shape[0] == 2 and (decoded.codec, decoded.pix_fmt) == ("h264", "yuv420p")
    outputs = volume / "svd" / "outputs"
    files = [record[key] for key in ("video", "input_picture", "poster", "model_frames")]
    files.append(record["video"].replace(".mp4", ".json"))  # the sidecar
    deadline = time.monotonic() + 30  # the model's frames are zipped after the video is shown
    while not all((outputs / name).exists() for name in files) and time.monotonic() < deadline:
        time.sleep(0.2)
    for name in files:
        owner = (outputs / name).stat()
        assert (owner.st_uid, owner.st_gid) == (1000, 0), name
    assert decode(outputs / record["video"]).frames.shape == decoded.frames.shape
    assert "uid=1000" in engine("exec", container.name, "id").stdout


def test_stop_is_clean_and_a_restart_lists_every_earlier_video(
    engine, plain_image, volume, containers, tmp_path, report
):
    container = engine.run(plain_image, volume, SVD_MODEL=MODEL_ON_VOLUME)
    containers.append(container)
    report["run to /readyz 200, model on the volume"] = f"{container.wait_ready():.1f} s"
    generate(container, tmp_path)
    seconds = container.stop(10)
    assert seconds < 10 and container.state()["ExitCode"] == 0, container.logs()[-2000:]
    assert "[svd] stopping" in container.logs()

    again = engine.run(plain_image, volume, SVD_MODEL=MODEL_ON_VOLUME)
    containers.append(again)
    again.wait_ready()
    earlier = list_history(volume / "svd" / "outputs")
    assert len(earlier) >= 2
    with launch_chromium() as browser:
        page = open_page(browser, again.url)
        page.get_by_role("tab", name="History").click()
        tiles = page.locator("#history-gallery button.thumbnail-item")
        expect(tiles).to_have_count(len(earlier))


def test_an_arbitrary_uid_in_group_0_runs_and_writes_the_volume(engine, plain_image, tmp_path, tiny_model, containers):
    volume = tmp_path / "workspace"
    shutil.copytree(tiny_model, volume / "svd" / "models" / "tiny")
    for path in [volume, *volume.rglob("*")]:  # root's, writable by group 0: as platforms that pick the uid do
        path.chmod(0o775 if path.is_dir() else 0o664)
    container = engine.run(plain_image, volume, user="104857:0", SVD_MODEL=MODEL_ON_VOLUME)
    containers.append(container)
    container.wait_ready()
    _, record = generate(container, tmp_path)
    video = volume / "svd" / "outputs" / Path(record["video"]).name
    assert video.stat().st_uid == 104857 and decode(video).frames.shape[0] == 2


TRITON_BUILD = """
import pathlib, sys, tempfile
from triton.runtime.build import _build
folder = tempfile.mkdtemp()
source = pathlib.Path(folder, "launcher.c")
source.write_text('#include <Python.h>\\nstatic struct PyModuleDef m = {PyModuleDef_HEAD_INIT, "launcher"};\\n'
                  'PyMODINIT_FUNC PyInit_launcher(void) { return PyModule_Create(&m); }\\n')
built = _build("launcher", str(source), folder, [], [], [], [])
sys.path.insert(0, folder)
import launcher
print("built", built)
"""


def test_triton_can_build_its_c_launchers_for_torch_compile(engine, plain_image):
    """What Triton does on a GPU's first compiled call, with Triton's own build function: a C compiler and
    Python's headers must be in the image."""
    built = engine.run_once(plain_image, "python", "-c", TRITON_BUILD, user="1000:0", check=False)
    assert built.returncode == 0 and built.stdout.startswith("built /tmp/"), built.stdout + built.stderr


def test_a_read_only_volume_shows_the_red_banner_and_keeps_serving(engine, plain_image, volume, containers):
    container = engine.run(plain_image, volume, read_only=True, SVD_MODEL=MODEL_ON_VOLUME)
    containers.append(container)
    container.wait_up()
    with launch_chromium() as browser:
        page = open_page(browser, container.url, ready="Videos cannot be saved")
        banner = page.locator("#status .banner-failed")
        expect(banner).to_contain_text("the output folder cannot be written (Read-only file system)")
        assert "/workspace" not in banner.inner_text()
        expect(page.locator("#retry")).to_be_hidden()  # loading the model again would not help
    time.sleep(3)  # a crash loop would have ended the process by now
    assert container.state()["Running"] and container.health_status() != "unhealthy"
    logs = container.logs()
    assert "cannot be written by uid 1000" in logs and "Traceback" not in logs, logs[-2000:]


def test_a_baked_model_is_used_offline_without_a_token(engine, baked_image, hub, tmp_path, containers, report):
    volume = tmp_path / "workspace"
    volume.mkdir()
    os.chown(volume, 1000, 0)
    asked = len(hub.requests)
    container = engine.run(baked_image, volume, SVD_MODEL=BAKED_REPO, HF_HUB_OFFLINE="1")
    containers.append(container)
    report["run to /readyz 200, baked model, offline"] = f"{container.wait_ready():.1f} s"
    video, record = generate(container, tmp_path)
    assert decode(video).frames.shape[0] == 2 and record["model"] == BAKED_REPO
    assert "HF_TOKEN" not in engine("exec", container.name, "env").stdout
    assert len(hub.requests) == asked  # nothing was fetched: the weights came from the image


def test_no_build_secret_or_certificate_of_this_machine_in_any_layer(
    engine, plain_image, baked_image, build_mounts, token, report
):
    certificates = machine_certificates(engine, plain_image, build_mounts)
    report["certificates of this machine looked for in every layer"] = str(len(certificates))
    needles = {"the build secret": token.encode(), **certificates}
    with engine.saved(baked_image) as archive:
        saved = SavedImage.scan(archive, needles)
    leaks = [(scan.member, scan.found) for scan in saved.layers if scan.found]
    assert leaks == [], leaks
    for name, text in saved.texts.items():
        assert token.encode() not in text, name
    assert token not in engine("history", "--no-trunc", baked_image).stdout

    # Only the bake step's own layer differs (empty in the plain image): a registry stores the rest once for both.
    plain_layers = engine.inspect(plain_image, "image")["RootFS"]["Layers"]
    assert saved.diff_ids[: len(plain_layers) - 1] == plain_layers[:-1]
    shared = saved.layers[: len(plain_layers) - 1]
    report["image on disk"] = gigabytes(engine.inspect(plain_image, "image")["Size"])
    report["image compressed (gzip, as a registry stores it)"] = gigabytes(sum(scan.gzipped for scan in shared))
    report["layers compressed"] = ", ".join(gigabytes(scan.gzipped) for scan in saved.layers)
    report["baked model's layer compressed"] = gigabytes(saved.layers[len(plain_layers) - 1].gzipped)
    du = engine.run_once(plain_image, "du", "-xak", "/")
    for rank, (size, path) in enumerate(largest_paths(du.stdout.splitlines()), 1):
        report[f"largest {rank}"] = f"{size / 1e6:.0f} MB {path}"


def machine_certificates(engine: Engine, image: str, build_mounts: dict[Path, str]) -> dict[str, bytes]:
    """The certificates of the bundle handed to the build that the image does not ship itself (neither in its
    system bundle nor in certifi's): this machine's own, which no layer may hold."""
    shipped = engine.run_once(
        image, "sh", "-c", f"cat {CERTIFICATES}; python -c 'import certifi; print(open(certifi.where()).read())'"
    ).stdout
    known = {body(block) for block in pem_blocks(shipped)}
    found = {}
    for bundle in build_mounts:
        for block in pem_blocks(bundle.read_text()):
            if body(block) not in known:
                found[f"a certificate of this machine ({block.splitlines()[1][:16]}...)"] = block.encode()
    return found


def pem_blocks(text: str) -> list[str]:
    return re.findall(r"-----BEGIN CERTIFICATE-----\n.*?\n-----END CERTIFICATE-----", text, re.DOTALL)


def body(block: str) -> str:
    return "".join(block.split("\n")[1:-1])


def gigabytes(size: int) -> str:
    return f"{size / 1e9:.2f} GB"
