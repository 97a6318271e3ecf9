"""Downloads through huggingface_hub's real client, against the fake Hub that the session uses as HF_ENDPOINT."""

from __future__ import annotations

import shutil
import subprocess
from collections import namedtuple
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import TINY_REPO, run_svd, write_picture
from huggingface_hub import constants, snapshot_download

from svd.engine import Engine
from svd.errors import ModelError
from svd.input.image import load_image
from svd.models import download
from svd.request import GenerationRequest

GATED_REPO = "svd-tests/gated-svd"


@pytest.fixture
def tiny_with_extras(tmp_path, tiny_model, tiny_model_fp16, hub):
    """A repository laid out like the real ones: fp32 and fp16 weights side by side, plus a single-file checkpoint."""
    folder = tmp_path / "repo"
    shutil.copytree(tiny_model, folder)
    for weights in tiny_model_fp16.rglob("*.fp16.safetensors"):
        shutil.copy(weights, folder / weights.relative_to(tiny_model_fp16))
    (folder / "svd_xt.safetensors").write_bytes(b"\0" * 4096)
    repo_id = f"svd-tests/with-extras-{tmp_path.name[-12:]}"
    hub.serve(repo_id, folder)
    return repo_id


def test_download_fetches_only_the_fp16_files(tiny_with_extras, hub):
    path = download.download_model(tiny_with_extras)
    files = sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())
    assert "unet/diffusion_pytorch_model.fp16.safetensors" in files
    assert "image_encoder/model.fp16.safetensors" in files
    assert "model_index.json" in files and "scheduler/scheduler_config.json" in files
    assert not any(name.endswith(".safetensors") and ".fp16." not in name for name in files)
    assert download.cached_model_path(tiny_with_extras) == path


def test_disk_space_is_checked_before_any_file_is_fetched(monkeypatch, tiny_with_extras, hub):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(download.shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 1000, 1000))
    before = len(hub.requests)
    with pytest.raises(ModelError, match=r"not enough disk space .* set HF_HOME to a larger disk"):
        download.download_model(tiny_with_extras)
    fetched = [path for method, path, _ in hub.requests[before:] if method == "GET" and "/resolve/" in path]
    assert fetched == []


def test_gated_model_without_a_token(monkeypatch, hub):
    hub.gated.add(GATED_REPO)
    with pytest.raises(ModelError) as caught:
        download.download_model(GATED_REPO)
    message = str(caught.value)
    assert "is gated (HF_TOKEN is not set)" in message
    assert f"accept its licence at {hub.url}/{GATED_REPO}" in message and "set HF_TOKEN" in message


def test_gated_model_with_a_token_whose_account_has_no_access(monkeypatch, hub):
    hub.gated.add(GATED_REPO)
    monkeypatch.setenv("HF_TOKEN", "hf_test_token_without_access")
    with pytest.raises(ModelError, match="the account of HF_TOKEN has no access"):
        download.download_model(GATED_REPO)
    assert any(auth == "Bearer hf_test_token_without_access" for _, _, auth in hub.requests)


def test_missing_repository(hub):
    with pytest.raises(ModelError, match="svd-tests/nothing-here was not found on the Hub"):
        download.download_model("svd-tests/nothing-here")


def test_engine_downloads_a_model_on_first_use_and_uses_its_defaults(tiny_model_fp16, picture):
    engine = Engine(device="cpu", default_model=TINY_REPO)
    result = engine.generate(GenerationRequest(image=load_image(picture), num_inference_steps=1, seed=3))
    assert result.settings.model == TINY_REPO
    assert result.frames.shape == (8, 144, 256, 3)  # the tiny model's own 8 frames, read after the download
    assert engine.status.state == "ready"


@pytest.fixture(scope="module")
def without_the_hub(tiny_model_fp16, tmp_path_factory) -> tuple[Path, dict[str, Future[subprocess.CompletedProcess]]]:
    """`python -m svd` where the Hub cannot be reached, three real processes started at once (each is seconds of
    imports on one core, so two cores overlap them), by name: with HF_HUB_OFFLINE=1 and an unreachable HF_ENDPOINT,
    as on a machine without internet, `generate` with the tiny model (in the cache: downloaded first) and `download
    svd-xt` (not in the cache); and `download svd` with an unreachable HF_ENDPOINT and an empty HF_HOME. Returns the
    folder where `generate` writes v.mp4, and the processes by name."""
    folder = tmp_path_factory.mktemp("without-the-hub")
    download.download_model(TINY_REPO)
    picture = write_picture(folder / "picture.png", (256, 144))
    offline = dict(HF_HUB_OFFLINE="1", HF_ENDPOINT="http://127.0.0.1:9")
    empty = tmp_path_factory.mktemp("empty-hf-home")
    with ThreadPoolExecutor(3) as starting:
        yield folder, {
            "generate": starting.submit(
                run_svd, "generate", str(picture), "--model", TINY_REPO, "--steps", "1", "--frames", "2",
                "-o", str(folder / "v"), **offline,
            ),
            "download svd-xt": starting.submit(run_svd, "download", "svd-xt", **offline),
            "download svd": starting.submit(
                run_svd, "download", "svd", HF_ENDPOINT="http://127.0.0.1:9", HF_HOME=str(empty)
            ),
        }  # fmt: skip


def test_offline_uses_the_cache_and_explains_what_is_missing(without_the_hub):
    """HF_HUB_OFFLINE=1 and an unreachable HF_ENDPOINT, as on a machine without internet."""
    folder, runs = without_the_hub
    made = runs["generate"].result()
    assert made.returncode == 0, made.stderr
    assert (folder / "v.mp4").is_file()

    missing = runs["download svd-xt"].result()
    assert missing.returncode == 2
    error_lines = missing.stderr.strip().splitlines()
    assert error_lines[-1].startswith("error: stabilityai/stable-video-diffusion-img2vid-xt is not in the cache")
    assert "cannot be reached" in error_lines[-1] and "Traceback" not in missing.stderr


def test_unreachable_hub_is_explained(without_the_hub):
    result = without_the_hub[1]["download svd"].result()  # an empty HF_HOME
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "the Hub at http://127.0.0.1:9 cannot be reached" in result.stderr.strip().splitlines()[-1]


def test_a_model_baked_into_the_image_is_found_without_downloading(monkeypatch, tiny_model_fp16, hub, tmp_path):
    baked = tmp_path / "baked"
    snapshot_download(TINY_REPO, allow_patterns=download.FP16_FILES, cache_dir=baked)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    assert download.cached_model_path(TINY_REPO) is None
    monkeypatch.setenv("SVD_BAKED_CACHE", str(baked))
    found = download.cached_model_path(TINY_REPO)
    assert found is not None and found.is_relative_to(baked)
    before = len(hub.requests)
    assert Engine(device="cpu", default_model=TINY_REPO).load().path == found
    assert len(hub.requests) == before  # nothing was fetched
