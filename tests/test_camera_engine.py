"""Camera moves through the engine and the CLI: the stock pipeline really starts from the noised guide at the
chosen sigma, a move at strength 0 is plain SVD, and the guide, the sidecar and the errors reach the user."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from conftest import run_svd_here
from mp4 import decode
from PIL import Image
from test_cli import assert_one_line_error, run_main

from svd.camera.guide import render_guide
from svd.camera.moves import MOVES
from svd.errors import InputError, ModelError
from svd.input.image import load_image
from svd.input.sizing import fit_image
from svd.request import GenerationRequest

QUICK = dict(num_frames=4, num_inference_steps=6, seed=11)


def request_for(picture, **settings) -> GenerationRequest:
    return GenerationRequest(image=load_image(picture), **{**QUICK, **settings})


class FirstUnetCall:
    """Records each UNet call's timestep and the first call's noisy latents (the CFG batch's first half, the
    4 channels that are not the picture's)."""

    def __init__(self, pipe):
        self.timesteps: list[float] = []
        self.latents: torch.Tensor | None = None
        self._handle = pipe.unet.register_forward_pre_hook(self._record)

    def _record(self, module, args):
        sample, timestep = args[0], args[1]
        if self.latents is None:
            self.latents = sample[:1, :, :4].clone()
        self.timesteps.append(float(timestep))

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self._handle.remove()


def test_the_pipeline_starts_from_the_noised_guide_at_the_strengths_sigma(engine, picture):
    pipe = engine.load().pipe
    with FirstUnetCall(pipe) as plain_run:
        engine.generate(request_for(picture))
    schedule = pipe.scheduler.sigmas.tolist()  # the plain run's 6-step schedule, as it left the scheduler
    with FirstUnetCall(pipe) as camera_run:
        moved = engine.generate(request_for(picture, camera="pan-left", camera_strength=0.5))

    skipped = 3  # strength 0.5 of 6 steps
    sigma = schedule[skipped]
    assert len(plain_run.timesteps) == 6 and len(camera_run.timesteps) == 6 - skipped
    assert camera_run.timesteps[0] == pytest.approx(0.25 * math.log(sigma))  # SVD's timestep is 0.25 log(sigma)
    assert len(moved.step_seconds) == 3

    # The plain run's first UNet input is its starting noise (scaled by sqrt(sigma_max^2 + 1), then unscaled).
    noise = plain_run.latents
    settings = moved.settings
    fitted = fit_image(Image.open(picture).convert("RGB"), (settings.width, settings.height))
    guide = render_guide(fitted, "pan-left", settings.num_frames, amount=1.0, seed=settings.seed)
    assert np.array_equal(moved.guide, guide.frames)
    frames = pipe.video_processor.preprocess([Image.fromarray(frame) for frame in guide.frames])
    encoded = pipe.vae.encode(frames).latent_dist.mode()[None] * pipe.vae.config.scaling_factor
    expected = (encoded + sigma * noise) / math.sqrt(sigma**2 + 1)
    assert torch.allclose(camera_run.latents, expected, atol=1e-4)


def test_a_move_at_strength_0_is_plain_svd(engine, picture):
    steps = 2  # whatever the steps, strength 0 skips none of them
    plain = engine.generate(request_for(picture, num_inference_steps=steps))
    for move in ("pan-right", "zoom-in"):
        still = engine.generate(request_for(picture, camera=move, camera_strength=0.0, num_inference_steps=steps))
        assert np.array_equal(still.frames, plain.frames)
        assert still.settings.camera == move and still.guide is not None
    assert plain.settings.camera == "none" and plain.settings.camera_strength is None and plain.guide is None


def test_a_move_changes_the_video_and_strength_defaults_per_move(engine, picture):
    plain = engine.generate(request_for(picture))
    zoomed = engine.generate(request_for(picture, camera="zoom-in"))
    assert zoomed.settings.camera_strength == MOVES["zoom-in"].strength
    assert zoomed.settings.camera_amount == 1.0 and zoomed.settings.depth_model is None
    assert not np.array_equal(zoomed.frames, plain.frames)
    assert {"camera_guide", "camera_encode"} <= zoomed.timings.keys()


def test_orbit_estimates_depth_with_the_depth_model(engine, picture, tiny_depth_model):
    result = engine.generate(request_for(picture, camera="orbit-left", depth_model=str(tiny_depth_model)))
    assert result.settings.depth_model == str(tiny_depth_model)
    assert result.timings["camera_depth"] > 0 and result.guide.shape == (4, 144, 256, 3)


@pytest.mark.parametrize(
    ("settings", "error", "message"),
    [
        (dict(camera="spin"), InputError, "camera move 'spin' is not known: use one of none, locked, pan-left"),
        (dict(camera="pan-left", camera_strength=1.5), InputError, "camera strength 1.5 is out of range"),
        (dict(camera="zoom-in", camera_amount=0), InputError, "camera amount 0 is out of range"),
        (dict(camera="orbit-left", depth_model="no-such-depth"), ModelError, "unknown depth model 'no-such-depth'"),
    ],
)
def test_bad_camera_settings_fail_before_anything_loads(engine, picture, settings, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(")):
        engine.prepare(request_for(picture, **settings))


def test_cli_lists_the_moves_and_refuses_an_unknown_one(picture, capsys):
    assert run_main(["cameras"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == list(MOVES)
    assert run_main(["generate", str(picture), "--camera", "dolly"]) == 2
    refused = capsys.readouterr()
    assert refused.out == ""
    assert_one_line_error(refused.err, "camera move 'dolly' is not known: use one of " + ", ".join(MOVES))


def test_cli_orbit_saves_its_guide_and_records_the_camera(tiny_model, tiny_depth_model, picture, tmp_path, capsys):
    code, _, errors = run_svd_here(
        capsys, "generate", str(picture), "--model", str(tiny_model), "-o", str(tmp_path / "orbit"), "--frames",
        "4", "--steps", "4", "--camera", "orbit-right", "--camera-amount", "2", "--depth-model",
        str(tiny_depth_model), "--save-guide",
    )  # fmt: skip
    assert code == 0, errors
    assert "camera orbit-right (strength 0.45)" in errors
    sidecar = json.loads((tmp_path / "orbit.json").read_text())
    assert (sidecar["camera"], sidecar["camera_strength"], sidecar["camera_amount"]) == ("orbit-right", 0.45, 2.0)
    assert sidecar["depth_model"] == str(tiny_depth_model) and sidecar["guide"] == "orbit_guide.mp4"
    guide = decode(tmp_path / "orbit_guide.mp4")
    assert guide.frames.shape == (4, 144, 256, 3) and guide.fps == sidecar["fps"]
    assert np.abs(guide.frames[-1].astype(int) - guide.frames[0]).mean() > 1  # the camera moved


def test_cli_names_a_depth_model_that_cannot_be_used(tiny_model, picture, capsys):
    args = ["generate", str(picture), "--model", str(tiny_model), "--camera", "orbit-left"]
    assert run_main([*args, "--depth-model", str(tiny_model)]) == 2
    assert_one_line_error(capsys.readouterr().err, f"'{tiny_model}' is not a depth model folder")


def test_the_depth_model_downloads_on_first_use_and_leaves_the_status_to_svd(engine, hub, tiny_depth_model, caplog):
    """A camera preview may fetch the depth model while the SVD model loads: only the log follows that download."""
    repo_id = "svd-tests/tiny-depth-for-the-engine"
    hub.serve(repo_id, tiny_depth_model)
    engine.load()
    before = engine.status
    with caplog.at_level("INFO", logger="svd"):
        disparity = engine.disparity(Image.new("RGB", (96, 64), "grey"), model=repo_id)
    assert disparity.shape == (64, 96) and engine.status == before
    assert any(f"downloading the depth model {repo_id}" in message for message in caplog.messages)
