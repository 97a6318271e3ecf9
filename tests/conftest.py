"""Shared fixtures: a fake Hub as HF_ENDPOINT, an empty HF cache, the tiny models (SVD in fp32 and fp16, depth) and
pictures.

The environment is set before huggingface_hub is imported, exactly as a user's HF_ENDPOINT and HF_HOME would be.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from fake_hub import FakeHub

HUB = FakeHub().__enter__()
_HF_HOME = Path(tempfile.mkdtemp(prefix="svd-test-hf-"))
os.environ.update(
    HF_ENDPOINT=HUB.url,
    HF_HOME=str(_HF_HOME),
    HF_HUB_DISABLE_TELEMETRY="1",
    TRANSFORMERS_VERBOSITY="error",
    DIFFUSERS_VERBOSITY="error",
)
for variable in ("HF_TOKEN", "HF_HUB_OFFLINE", "SVD_MODEL", "SVD_MEMORY", "SVD_DEVICE", "SVD_OUTPUT_DIR"):
    os.environ.pop(variable, None)

from chromium import launch_chromium, open_page  # noqa: E402
from diffusers import WanTransformer3DModel  # noqa: E402
from gradio.utils import get_upload_folder  # noqa: E402
from webui_server import start_server  # noqa: E402

from svd.camera.tiny_depth import save_random_depth_model  # noqa: E402
from svd.cli.main import main as svd_main  # noqa: E402
from svd.engine import Engine  # noqa: E402
from svd.families.catalogue import CATALOGUE  # noqa: E402
from svd.families.ltx.tiny import save_random_model as save_random_ltx  # noqa: E402
from svd.families.svd.tiny import save_random_model, save_random_unet  # noqa: E402
from svd.families.wan.tiny import TINY_ARCHITECTURES  # noqa: E402
from svd.families.wan.tiny import save_random_model as save_random_wan  # noqa: E402
from svd.finish.rife import save_random_rife  # noqa: E402
from svd.finish.upscale import save_random_upscaler  # noqa: E402
from svd.loras.tiny import save_random_lora  # noqa: E402
from svd.text.tiny import save_random_text_model  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
TINY_REPO = "svd-tests/tiny-svd"
"""The tiny fp16 model as the fake Hub serves it (a Hub id outside the catalogue, so its own defaults apply)."""
SERVED_LORA = "kite-style.safetensors"
"""The LoRA for the tiny Wan 2.1 in the shared server's loras folder."""


collect_ignore = ["image"]
"""The image check builds and runs the Docker image: `./launch.sh image-check` runs it, not the suite."""


def pytest_sessionfinish(session, exitstatus) -> None:
    HUB.__exit__(None, None, None)
    shutil.rmtree(_HF_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def hub() -> FakeHub:
    return HUB


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return save_random_model("tiny", tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(scope="session")
def tiny_model_fp16(tmp_path_factory) -> Path:
    folder = save_random_model("tiny", tmp_path_factory.mktemp("models") / "tiny-fp16", variant="fp16")
    HUB.serve(TINY_REPO, folder)
    return folder


@pytest.fixture(scope="session")
def tiny_wan(tmp_path_factory) -> dict[str, Path]:
    """The tiny Wan models, one of each layout (`svd.families.wan.tiny`), by architecture."""
    folder = tmp_path_factory.mktemp("wan")
    return {name: save_random_wan(name, folder / name) for name in TINY_ARCHITECTURES}


@pytest.fixture(scope="session")
def tiny_ltx(tmp_path_factory) -> Path:
    """The tiny LTX-Video model (`svd.families.ltx.tiny`)."""
    return save_random_ltx("tiny-ltx", tmp_path_factory.mktemp("ltx") / "tiny-ltx")


@pytest.fixture(scope="session")
def tiny_depth_model(tmp_path_factory) -> Path:
    """A random-weight Depth-Anything folder in the Hub repository's layout; it loads in a fraction of a second."""
    return save_random_depth_model(tmp_path_factory.mktemp("models") / "tiny-depth")


@pytest.fixture(scope="session")
def tiny_text_model(tmp_path_factory) -> Path:
    """A random-weight text-to-image model in SDXL's diffusers layout."""
    return save_random_text_model(tmp_path_factory.mktemp("models") / "tiny-text")


@pytest.fixture(scope="session")
def tiny_rife(tmp_path_factory) -> Path:
    """Random RIFE weights in the released flownet.pkl's form (the full-size network: it is small)."""
    return save_random_rife(tmp_path_factory.mktemp("models") / "rife" / "flownet.pkl")


@pytest.fixture(scope="session")
def tiny_upscaler(tmp_path_factory) -> Path:
    """A tiny random x4 Real-ESRGAN compact network in the release .pth's form, which spandrel loads."""
    return save_random_upscaler(tmp_path_factory.mktemp("models") / "upscaler" / "upscaler.pth")


TURBO_SIZE = (256, 128)
"""Near the tiny model's own size: served as SVD-XT (for Turbo), it takes the catalogue's defaults (1024x576, sides
multiples of 64) unless told."""


@pytest.fixture(scope="session")
def turbo_hub(tiny_model_fp16, tmp_path_factory) -> Path:
    """The tiny fp16 model as SVD-XT, and a tiny distilled UNet as AnimateLCM-SVD-xt's file, on the test Hub; returns
    the UNet's file."""
    HUB.serve(CATALOGUE["svd-xt"].repo_id, tiny_model_fp16)
    (unet,) = CATALOGUE["svd-xt-turbo"].hub_files
    folder = tmp_path_factory.mktemp("animatelcm")
    save_random_unet("tiny", folder / unet.filename, seed=7)
    HUB.serve(unet.repo_id, folder)
    return folder / unet.filename


@pytest.fixture(scope="session")
def turbo(turbo_hub) -> Engine:
    """A CPU engine with svd-xt-turbo, downloaded from the test Hub."""
    engine = Engine(device="cpu", default_model="svd-xt-turbo")
    engine.load()
    return engine


@pytest.fixture(scope="session")
def engine(tiny_model) -> Engine:
    """One CPU engine with the tiny model, shared like the one engine a real process has."""
    return Engine(device="cpu", default_model=str(tiny_model))


@pytest.fixture(scope="session")
def server(tiny_model, tiny_depth_model, tiny_text_model, tiny_rife, tiny_upscaler, tiny_wan, tmp_path_factory):
    """`webui.py` running with the tiny models, shared by the API and the browser tests, with the tiny Wan 2.1 model
    as `wan` and the tiny FLF2V as `flf2v` in its models folder, and a LoRA for `wan`, `kite-style.safetensors`, in
    its loras folder. Its work limit
    lets a run take minutes (200 steps on two cores) so that tests can watch one, queue behind one and cancel one."""
    folder = tmp_path_factory.mktemp("webui")
    shutil.copytree(tiny_wan["tiny-wan2.1"], folder / "models" / "wan")
    shutil.copytree(tiny_wan["tiny-wan2.1-flf2v"], folder / "models" / "flf2v")
    transformer = WanTransformer3DModel.from_pretrained(tiny_wan["tiny-wan2.1"] / "transformer")
    save_random_lora(transformer, folder / "loras" / SERVED_LORA, seed=5)
    running = start_server(
        folder, SVD_MODEL=str(tiny_model), SVD_DEPTH_MODEL=str(tiny_depth_model), SVD_T2I_MODEL=str(tiny_text_model),
        SVD_INTERPOLATOR=str(tiny_rife), SVD_UPSCALER=str(tiny_upscaler), SVD_MAX_WORK="1000",
        SVD_MODELS_DIR=str(folder / "models"), SVD_LORAS_DIR=str(folder / "loras"),
    )  # fmt: skip
    running.wait_for_model()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def auth_server(tiny_model, tmp_path_factory):
    """`webui.py` with logins, shared by the login tests. Its output folder holds what a killed server left behind:
    temporary files (one of them fresh) and a video renamed into place before its sidecar was written."""
    folder = tmp_path_factory.mktemp("webui-auth")
    outputs = folder / "outputs"
    outputs.mkdir()
    for name in (".old.0a1b2c3d.partial.mp4", ".old.0a1b2c3d.partial.zip", ".new.4e5f6a7b.partial.mp4"):
        (outputs / name).write_bytes(b"half written")
    hour_ago = time.time() - 3600
    os.utime(outputs / ".old.0a1b2c3d.partial.mp4", (hour_ago, hour_ago))
    (outputs / "20261205-101500-lost.mp4").write_bytes(b"a video whose sidecar never came")
    running = start_server(folder, SVD_MODEL=str(tiny_model), SVD_AUTH="alice:wonderland,bob:builder")
    running.wait_for_model()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, one for the session (started by the first test that needs it: seconds on two
    cores); each test opens its own context, so no cookies or pages are shared."""
    with launch_chromium() as launched:
        yield launched


@pytest.fixture
def page(browser, server):
    """A fresh laptop-sized page of the shared server, once its model is ready."""
    opened = open_page(browser, server.url)
    yield opened
    opened.context.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    """Where the browser tests' screenshots go, to be looked at: $SVD_SCREENSHOTS, or a temporary folder."""
    folder = Path(os.environ.get("SVD_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


GATED_LATER = "svd-tests/gated-until-accepted"


@pytest.fixture(scope="session")
def failing_server(hub, tmp_path_factory):
    """`webui.py` as a renter first finds it when the template is not set up: its model is gated on the Hub (no
    licence accepted yet), its output folder cannot be written (the path runs through a file), behind a proxy path.
    Its model is not in the catalogue, so it states SVD-XT's defaults, as a server of SVD-XT does. It keeps Gradio's
    copies of uploads for 1.8 s only."""
    hub.gated.add(GATED_LATER)
    folder = tmp_path_factory.mktemp("webui-failing")
    (folder / "a-file").write_text("")
    running = start_server(
        folder, SVD_MODEL=GATED_LATER, SVD_OUTPUT_DIR=str(folder / "a-file" / "outputs"), SVD_ROOT_PATH="/studio",
        HF_HOME=str(folder / "hf"), SVD_CACHE_HOURS="0.0005",
    )  # fmt: skip
    running.wait_for_model(states=("failed",))
    yield running
    running.stop()


def run_svd_here(capsys, *args: str, main: Callable[[list[str]], int] = svd_main) -> tuple[int, str, str]:
    """`python -m svd ARGS` (or another command's `main`) in this process, without an interpreter's start-up
    (seconds on two cores); its logging set-up is put back after. Returns the exit code, stdout and stderr."""
    logger = logging.getLogger("svd")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    try:
        code = main(list(args))
    finally:
        logger.handlers[:], logger.level, logger.propagate = saved
    printed = capsys.readouterr()
    return code, printed.out, printed.err


def run_svd(*args: str, **env: str) -> subprocess.CompletedProcess:
    """`python -m svd ARGS` in a real process, as a user or a script runs it, with extra environment `env`."""
    return subprocess.run(
        [sys.executable, "-m", "svd", *args],
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def gradient(size: tuple[int, int]) -> np.ndarray:
    """A picture with structure in both directions, so crops, pads and orientation are visible in its pixels."""
    width, height = size
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[..., 0] = np.linspace(0, 255, width, dtype=np.uint8)[None, :]
    pixels[..., 1] = np.linspace(0, 255, height, dtype=np.uint8)[:, None]
    pixels[: height // 4, : width // 4, 2] = 255
    return pixels


def write_picture(path: Path, size: tuple[int, int] = (320, 180), **save_options) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(gradient(size)).save(path, **save_options)
    return path


def as_upload(path: Path) -> dict:
    """The payload of `path` uploaded, as the page's picture box gives it: a copy in Gradio's upload folder."""
    folder = Path(get_upload_folder()) / f"test-{uuid.uuid4().hex}"
    folder.mkdir(parents=True)
    shutil.copy(path, folder / path.name)
    return {"path": str(folder / path.name), "orig_name": path.name}


@pytest.fixture
def picture(tmp_path) -> Path:
    return write_picture(tmp_path / "picture.png", (256, 144))
