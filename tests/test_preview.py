"""Live previews: the latent-to-RGB map fitted from a VAE, and the previews a run reports while it denoises (the
page showing them is in test_browser)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from conftest import TURBO_SIZE
from test_engine import request_for

from svd.input.image import load_image
from svd.input.sizing import fit_image
from svd.preview import fit_preview
from svd.request import GenerationRequest


def test_the_fit_recovers_a_vae_that_is_linear_in_each_latent_cell():
    weights = torch.tensor([[0.2, -0.1, 0.05], [0.03, 0.15, -0.1], [-0.05, 0.04, 0.08], [0.1, -0.06, 0.02]])
    bias = torch.tensor([0.3, 0.45, 0.35])

    def encode(pixels: torch.Tensor) -> torch.Tensor:  # four channels of each 8x8 cell's colour, one not linear
        cells = (F.avg_pool2d(pixels, 8) + 1) / 2
        return torch.cat([cells, cells[:, :1] * cells[:, 1:2]], dim=1)

    def decode(latents: torch.Tensor) -> torch.Tensor:  # each cell one colour, a linear map of its latents
        rgb = torch.einsum("nchw,cr->nrhw", latents, weights) + bias[:, None, None]
        return F.interpolate(rgb * 2 - 1, scale_factor=8, mode="nearest")

    fitted = fit_preview(encode, decode)
    assert torch.allclose(fitted.weights, weights, atol=1e-4) and torch.allclose(fitted.bias, bias, atol=1e-4)
    latents = encode(torch.rand(1, 3, 32, 32) * 2 - 1)
    drawn = fitted.frames(latents)
    assert drawn.shape == (1, 4, 4, 3) and drawn.dtype == np.uint8
    expected = ((torch.einsum("nchw,cr->nhwr", latents, weights) + bias) * 255).round().numpy()
    assert np.abs(drawn.astype(int) - expected).max() <= 1


def test_a_run_reports_previews_of_its_estimate_and_its_frames_are_unchanged(engine, picture):
    request = request_for(picture, seed=5, num_frames=3, num_inference_steps=5, size=(128, 64))
    reports = []
    previewed = engine.generate(request, progress=reports.append, preview_every=2)
    plain = engine.generate(request)
    assert np.array_equal(previewed.frames, plain.frames)

    previews = {report.step: report.preview for report in reports if report.preview is not None}
    assert sorted(previews) == [2, 4, 5]  # every second step, and the last
    settings = previewed.settings
    assert all(each.shape == (3, settings.height // 8, settings.width // 8, 3) for each in previews.values())
    assert not np.array_equal(previews[2], previews[5])  # the estimate sharpens as the noise goes

    loaded = engine.loaded
    latents = loaded.pipe(
        fit_image(request.image.image, (settings.width, settings.height), settings.resize),
        height=settings.height, width=settings.width, num_frames=3, num_inference_steps=5, fps=settings.fps,
        motion_bucket_id=settings.motion_bucket_id, noise_aug_strength=settings.noise_aug_strength,
        min_guidance_scale=settings.min_guidance_scale, max_guidance_scale=settings.max_guidance_scale,
        generator=torch.Generator("cpu").manual_seed(5), output_type="latent",
    ).frames  # fmt: skip
    last = loaded.preview.frames(latents[0])  # the last preview draws the latents the pipeline ends with
    assert np.abs(previews[5].astype(int) - last.astype(int)).max() <= 1

    assert engine._previews(loaded, 1).latent is loaded.preview  # fitted once per loaded model


def test_turbos_consistency_sampler_reports_previews_too(turbo, picture):
    reports = []
    request = GenerationRequest(image=load_image(picture), num_frames=3, seed=2, size=TURBO_SIZE)
    turbo.generate(request, progress=reports.append, preview_every=1)
    steps = [report.step for report in reports if report.preview is not None]
    assert steps == [1, 2, 3, 4]
