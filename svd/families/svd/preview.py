"""SVD's side of the live previews (`svd.preview`): its VAE's latent space for the fit, and its schedulers' estimate
of the clean latents at each step, which is what a preview draws (the noisy latents would show noise until the last
steps)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from diffusers import StableVideoDiffusionPipeline

from ...preview import LatentPreview, fit_preview


def fit_latent_preview(pipe: StableVideoDiffusionPipeline) -> LatentPreview:
    """The map for the pipeline's VAE, in the scaled space its latents are denoised in. Each fitting picture is
    decoded as a video of one frame."""
    vae = pipe.vae
    scale = vae.config.scaling_factor
    device = pipe._execution_device

    def encode(pixels: torch.Tensor) -> torch.Tensor:
        return vae.encode(pixels.to(device, vae.dtype)).latent_dist.mode() * scale

    def decode(latents: torch.Tensor) -> torch.Tensor:
        return vae.decode(latents.to(device, vae.dtype) / scale, num_frames=1).sample

    return fit_preview(encode, decode)


@dataclass
class Denoised:
    """The scheduler's last estimate of the clean latents, (videos, frames, channels, h, w)."""

    latents: torch.Tensor | None = None


@contextlib.contextmanager
def denoised_latents(pipe: StableVideoDiffusionPipeline) -> Iterator[Denoised]:
    """While open, each scheduler step keeps its estimate of the clean latents: Euler's `pred_original_sample`,
    the consistency scheduler's `denoised`. The steps themselves are unchanged."""
    held = Denoised()
    step = pipe.scheduler.step

    def step_keeping_estimate(*args, **kwargs):
        output = step(*args, **kwargs)
        estimate = getattr(output, "pred_original_sample", None)
        held.latents = estimate if estimate is not None else getattr(output, "denoised", None)
        return output

    pipe.scheduler.step = step_keeping_estimate
    try:
        yield held
    finally:
        del pipe.scheduler.step  # the class's own again
