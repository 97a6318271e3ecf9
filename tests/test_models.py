"""The catalogue, and how model names and folders resolve, without any network."""

from __future__ import annotations

import json
import shutil

import pytest

from svd.errors import ModelError
from svd.families.catalogue import CATALOGUE, DEFAULT_MODEL, find_local_models, resolve_model
from svd.families.svd.tiny import architecture_defaults


def test_catalogue_entries_and_defaults():
    assert DEFAULT_MODEL == "svd-xt"
    assert CATALOGUE["svd"].repo_id == "stabilityai/stable-video-diffusion-img2vid"
    assert CATALOGUE["svd"].defaults.num_frames == 14
    assert CATALOGUE["svd-xt"].repo_id == "stabilityai/stable-video-diffusion-img2vid-xt"
    assert CATALOGUE["svd-xt"].defaults.num_frames == 25
    xt11 = CATALOGUE["svd-xt-1.1"]
    assert xt11.repo_id == "stabilityai/stable-video-diffusion-img2vid-xt-1-1"
    assert (xt11.defaults.fps, xt11.defaults.motion_bucket_id, xt11.defaults.num_frames) == (6, 127, 25)
    for entry in (entry for entry in CATALOGUE.values() if entry.defaults.family == "svd"):
        defaults = entry.defaults
        steps = 4 if entry.hub_files else 25
        assert (defaults.width, defaults.height, defaults.num_inference_steps) == (1024, 576, steps)
    turbo = CATALOGUE["svd-xt-turbo"]
    assert (turbo.repo_id, turbo.hub_files[0].repo_id) == (CATALOGUE["svd-xt"].repo_id, "wangfuyun/AnimateLCM-SVD-xt")
    assert (turbo.defaults.min_guidance_scale, turbo.defaults.max_guidance_scale) == (1.0, 1.0)
    assert CATALOGUE["svd-xt-1.1-turbo"].repo_id == xt11.repo_id and CATALOGUE["svd-xt-1.1-turbo"].defaults.fps == 6


def test_repo_id_of_a_catalogue_model_resolves_to_its_entry():
    source = resolve_model("stabilityai/stable-video-diffusion-img2vid-xt-1-1")
    assert source.name == "svd-xt-1.1" and source.defaults.fps == 6


def test_tiny_folder_states_its_own_defaults(tiny_model):
    source = resolve_model(str(tiny_model))
    assert source.is_local and source.defaults == architecture_defaults("tiny")


def test_folder_without_defaults_infers_frames_from_the_unet(tiny_model, tmp_path):
    folder = tmp_path / "copy"
    for item in tiny_model.iterdir():
        if item.is_dir():
            (folder / item.name).mkdir(parents=True)
            for file in item.iterdir():
                (folder / item.name / file.name).write_bytes(file.read_bytes())
    (folder / "model_index.json").write_text((tiny_model / "model_index.json").read_text())
    config = json.loads((folder / "unet" / "config.json").read_text())
    config["num_frames"] = 14
    (folder / "unet" / "config.json").write_text(json.dumps(config))
    defaults = resolve_model(str(folder)).defaults
    assert defaults.num_frames == 14
    assert (defaults.width, defaults.height, defaults.fps, defaults.num_inference_steps) == (1024, 576, 7, 25)


def test_folder_that_is_not_an_svd_model_is_refused(tmp_path):
    with pytest.raises(ModelError, match=r"has no model_index\.json"):
        resolve_model(str(tmp_path))
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    with pytest.raises(ModelError, match="holds a StableDiffusionPipeline"):
        resolve_model(str(tmp_path))
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "StableVideoDiffusionPipeline"}))
    with pytest.raises(ModelError, match="lacks unet/, vae/"):
        resolve_model(str(tmp_path))


def test_unknown_names_are_refused_with_the_choices():
    with pytest.raises(ModelError, match=r"use one of svd, svd-xt, svd-xt-1\.1"):
        resolve_model("svd-turbo")
    assert resolve_model("someone/my-svd-finetune").repo_id == "someone/my-svd-finetune"


def test_local_model_folders_are_found_for_the_webui(tiny_model, tmp_path):
    models = tmp_path / "models"
    shutil.copytree(tiny_model, models / "my-tiny")
    (models / "notes").mkdir()
    (models / "readme.txt").write_text("not a model")
    assert find_local_models(models) == [models / "my-tiny"]
    assert find_local_models(tmp_path / "missing") == []
