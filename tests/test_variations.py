"""Variations: N videos with consecutive seeds from one request, in one batch or one after another, each equal to a
single run with its seed; from the engine, the command line and the API."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
from conftest import TURBO_SIZE, run_svd_here, write_picture
from gradio_client import Client, handle_file
from mp4 import decode

from svd.errors import OutOfMemoryError
from svd.input.image import load_image
from svd.request import GenerationRequest

RUN = dict(num_frames=3, num_inference_steps=2, seed=40)


def singles(engine, image, count: int, **settings) -> list[np.ndarray]:
    return [
        engine.generate(GenerationRequest(image=image, **{**RUN, **settings, "seed": RUN["seed"] + index})).frames
        for index in range(count)
    ]


def test_a_batch_of_variations_equals_single_runs_with_consecutive_seeds(engine, picture):
    image = load_image(picture)
    results = engine.generate_videos(GenerationRequest(image=image, **RUN, variations=3))
    assert [result.settings.seed for result in results] == [40, 41, 42]
    assert [(result.settings.variation, result.settings.variations) for result in results] == [(0, 3), (1, 3), (2, 3)]
    for result, single in zip(results, singles(engine, image, 3), strict=True):
        assert np.abs(result.frames.astype(int) - single.astype(int)).max() <= 1
    assert not np.array_equal(results[0].frames, results[1].frames)


def test_variations_that_do_not_fit_run_one_after_another_with_the_same_frames(engine, picture, monkeypatch):
    image = load_image(picture)
    batches: list[int] = []
    loaded = engine.load()
    animate = loaded.family.animate

    def batch_too_big(pipe, picture, settings, seeds, run):
        batches.append(len(seeds))
        if len(seeds) > 1:
            raise OutOfMemoryError("out of memory")
        return animate(pipe, picture, settings, seeds, run)

    monkeypatch.setattr(loaded, "family", replace(loaded.family, animate=batch_too_big))
    results = engine.generate_videos(GenerationRequest(image=image, **RUN, variations=2, camera="pan-left"))
    assert batches == [2, 1, 1]
    monkeypatch.undo()
    for result, single in zip(results, singles(engine, image, 2, camera="pan-left"), strict=True):
        assert np.array_equal(result.frames, single)
        assert result.guide is not None


def test_turbo_variations_in_a_batch_each_get_their_own_step_noise(turbo, picture):
    image = load_image(picture)
    request = GenerationRequest(image=image, num_frames=2, seed=40, size=TURBO_SIZE)
    results = turbo.generate_videos(replace(request, variations=2))
    alone = [turbo.generate(replace(request, seed=seed)).frames for seed in (40, 41)]
    for result, single in zip(results, alone, strict=True):
        assert np.abs(result.frames.astype(int) - single.astype(int)).max() <= 1


def test_variations_from_the_command_line_are_numbered(tiny_model, picture, tmp_path, capsys):
    out = tmp_path / "try"
    code, printed, errors = run_svd_here(
        capsys, "generate", str(picture), "-o", str(out), "--model", str(tiny_model), "--device", "cpu", "--frames",
        "2", "--steps", "1", "--seed", "7", "--variations", "2",
    )  # fmt: skip
    assert code == 0, errors
    assert printed.split() == [str(tmp_path / "try-1.mp4"), str(tmp_path / "try-2.mp4")]
    seeds = [json.loads((tmp_path / f"try-{index}.json").read_text())["seed"] for index in (1, 2)]
    assert seeds == [7, 8]
    code, _, errors = run_svd_here(capsys, "generate", str(picture), "--variations", "9", "--device", "cpu")
    assert (code, errors.strip()) == (2, "error: variations 9 is out of range: use a value from 1 to 8")


def test_variations_over_the_api_list_every_video(server, tmp_path):
    client = Client(server.url, verbose=False)
    picture = write_picture(tmp_path / "p.png", (256, 144))
    video, _, settings = client.predict(
        handle_file(str(picture)), frames=2, steps=1, seed=90, variations=2, api_name="/generate"
    )
    assert [each["seed"] for each in settings["videos"]] == [90, 91]
    assert settings["seed"] == 90 and decode(video).frames.shape[0] == 2
    second = settings["videos"][1]
    assert decode(second["files"]["mp4"]).frames.shape[0] == 2 and (server.output_dir / second["sidecar"]).is_file()
