"""The depth stage: the tiny depth model through the real loading path, name resolution, and downloads from the fake
Hub through the same cache and the same error messages as the SVD models."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import gradient
from huggingface_hub import constants
from PIL import Image

from svd.camera import depth
from svd.camera.depth import DEPTH_FILES, DepthEstimator, DepthSource, normalise_disparity, resolve_depth_model
from svd.cli.main import main
from svd.errors import ModelError
from svd.models import download

SMALL_REPO = depth.DEPTH_MODELS["depth-anything-v2-small"]


@pytest.fixture
def still() -> Image.Image:
    return Image.fromarray(gradient((301, 157)))  # not a multiple of the patch size, so the map must be resized


def test_make_tiny_depth_writes_a_model_the_estimator_loads(tmp_path, capsys, still):
    folder = tmp_path / "tiny-depth"
    assert main(["make-tiny", str(folder), "--depth"]) == 0
    assert capsys.readouterr().out.strip() == str(folder)
    assert {p.name for p in folder.iterdir()} == {"config.json", "preprocessor_config.json", "model.safetensors"}
    assert json.loads((folder / "preprocessor_config.json").read_text())["image_processor_type"] == "DPTImageProcessor"

    estimator = DepthEstimator()
    estimator.load(str(folder))
    disparity = estimator.estimate(still)
    assert estimator.name == str(folder)
    assert disparity.shape == (157, 301) and disparity.dtype == np.float32
    assert disparity.min() == 0.0 and disparity.max() == 1.0


def test_estimates_are_deterministic_and_the_model_is_kept(monkeypatch, tiny_depth_model, tmp_path, still):
    loads = []
    real_pipeline = depth.pipeline

    def counting_pipeline(*args, **kwargs):
        loads.append(kwargs["model"])
        return real_pipeline(*args, **kwargs)

    monkeypatch.setattr(depth, "pipeline", counting_pipeline)
    other = shutil.copytree(tiny_depth_model, tmp_path / "other")
    estimator = DepthEstimator()
    estimator.load(str(tiny_depth_model))
    first = estimator.estimate(still)
    estimator.load(str(tiny_depth_model))
    assert np.array_equal(first, estimator.estimate(still))
    assert loads == [str(tiny_depth_model)]
    estimator.load(str(other))
    assert loads == [str(tiny_depth_model), str(other)] and estimator.name == str(other)


def test_a_flat_map_is_one_half_and_others_span_zero_to_one():
    assert np.array_equal(normalise_disparity(torch.full((4, 6), 3.0)), np.full((4, 6), 0.5, np.float32))
    ramp = normalise_disparity(torch.linspace(2.0, 5.0, 12).reshape(3, 4))
    assert ramp.dtype == np.float32 and ramp[0, 0] == 0.0 and ramp[-1, -1] == 1.0 and np.all(np.diff(ramp.ravel()) > 0)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("depth-anything-v2-small", DepthSource("depth-anything-v2-small", SMALL_REPO)),
        (f" {SMALL_REPO}", DepthSource("depth-anything-v2-small", SMALL_REPO)),
        ("someone/their-depth", DepthSource("someone/their-depth", "someone/their-depth")),
    ],
)
def test_names_resolve_without_the_network(name, expected, hub):
    before = len(hub.requests)
    assert resolve_depth_model(name) == expected
    assert len(hub.requests) == before


def test_a_folder_resolves_to_itself(tiny_depth_model):
    assert resolve_depth_model(str(tiny_depth_model)) == DepthSource(str(tiny_depth_model), path=tiny_depth_model)


def test_an_unknown_name_is_one_clear_line():
    with pytest.raises(ModelError) as caught:
        resolve_depth_model("no such model")
    message = str(caught.value)
    assert message.startswith("unknown depth model 'no such model': use depth-anything-v2-small, a Hub id")
    assert "\n" not in message


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        ({"model_index.json": {"_class_name": "StableVideoDiffusionPipeline"}}, "it has no config.json"),
        ({"config.json": {"model_type": "clip_vision_model"}}, "it holds a clip_vision_model model"),
        ({"config.json": {"model_type": "depth_anything"}}, "it lacks preprocessor_config.json, model.safetensors"),
    ],
)
def test_a_folder_that_is_not_a_depth_model_is_named(tmp_path, files, reason):
    folder = tmp_path / "not-depth"
    folder.mkdir()
    for name, content in files.items():
        (folder / name).write_text(json.dumps(content))
    with pytest.raises(ModelError, match=f"'{folder}' is not a (complete )?depth model folder: {reason}"):
        resolve_depth_model(str(folder))


def test_a_broken_model_fails_to_load_and_keeps_the_loaded_one(tiny_depth_model, tmp_path, still):
    broken = shutil.copytree(tiny_depth_model, tmp_path / "broken")
    (broken / "model.safetensors").write_bytes(b"not weights")
    estimator = DepthEstimator()
    estimator.load(str(tiny_depth_model))
    with pytest.raises(ModelError, match=f"cannot load the depth model {broken} .*check that the folder {broken}"):
        estimator.load(str(broken))
    assert estimator.name == str(tiny_depth_model)
    assert estimator.estimate(still).shape == (157, 301)


def test_a_depth_repo_downloads_its_files_into_the_shared_cache(tiny_depth_model, hub, tmp_path, still):
    repo = tmp_path / "repo"
    shutil.copytree(tiny_depth_model, repo)
    (repo / "README.md").write_text("a model card, which a load does not need")
    repo_id = f"svd-tests/tiny-depth-{tmp_path.name[-12:]}"
    hub.serve(repo_id, repo)

    estimator = DepthEstimator()
    reports: list[tuple[int, int]] = []
    estimator.load(repo_id, on_progress=lambda done, total: reports.append((done, total)))
    cached = download.cached_model_path(repo_id, allow_patterns=DEPTH_FILES)
    assert cached is not None and cached.is_relative_to(constants.HF_HUB_CACHE)
    assert sorted(p.name for p in cached.iterdir()) == ["config.json", "model.safetensors", "preprocessor_config.json"]
    assert reports and reports[-1][0] == reports[-1][1] > 0
    assert estimator.name == repo_id and estimator.estimate(still).shape == (157, 301)

    before = len(hub.requests)
    DepthEstimator().load(repo_id)
    assert len(hub.requests) == before  # the second load finds it in the cache


def test_the_download_command_fetches_the_catalogue_depth_model(monkeypatch, tiny_depth_model, hub, tmp_path, capsys):
    """`python -m svd download depth-anything-v2-small` (served here by the fake Hub) fills the cache a load uses."""
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(hub.repos, SMALL_REPO, tiny_depth_model)
    assert main(["download", "depth-anything-v2-small"]) == 0
    fetched = Path(capsys.readouterr().out.strip())
    assert fetched.is_relative_to(tmp_path / "cache") and (fetched / "model.safetensors").is_file()
    before = len(hub.requests)
    DepthEstimator().load("depth-anything-v2-small")
    assert len(hub.requests) == before


@pytest.mark.parametrize(
    ("repo_id", "gated", "expected"),
    [
        ("svd-tests/gated-depth", True, "svd-tests/gated-depth is gated (HF_TOKEN is not set)"),
        ("svd-tests/no-depth-here", False, "svd-tests/no-depth-here was not found on the Hub"),
    ],
)
def test_a_gated_or_missing_depth_repo_fails_like_an_svd_one(hub, repo_id, gated, expected):
    if gated:
        hub.gated.add(repo_id)
    with pytest.raises(ModelError) as for_depth:
        DepthEstimator().load(repo_id)
    with pytest.raises(ModelError) as for_svd:
        download.download_model(repo_id)
    assert str(for_depth.value) == str(for_svd.value)
    assert str(for_depth.value).startswith(expected) and "\n" not in str(for_depth.value)
