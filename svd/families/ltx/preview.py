"""LTX-Video's side of the live previews (`svd.preview`): its VAE's latent space, normalised by the VAE's own means
and deviations as the pipeline denoises it, each fitting picture a video of one frame. Its latent cells are 32x32
pixels with 128 channels, so the map is fitted on 256-pixel pictures: 256 cells for 129 unknowns."""

from __future__ import annotations

import torch
from diffusers import LTXConditionPipeline

from ...preview import LatentPreview, fit_preview

FIT_SIZE = 256


def fit_latent_preview(pipe: LTXConditionPipeline) -> LatentPreview:
    vae = pipe.vae
    device = pipe._execution_device

    def encode(pixels: torch.Tensor) -> torch.Tensor:
        latents = vae.encode(pixels[:, :, None].to(device, vae.dtype)).latent_dist.mode()
        return pipe._normalize_latents(latents, vae.latents_mean, vae.latents_std)[:, :, 0]

    def decode(latents: torch.Tensor) -> torch.Tensor:
        video = latents[:, :, None].to(device, vae.dtype)
        video = pipe._denormalize_latents(video, vae.latents_mean, vae.latents_std, vae.config.scaling_factor)
        at_zero = torch.zeros(len(video), device=device, dtype=vae.dtype)
        return vae.decode(video, at_zero if vae.config.timestep_conditioning else None).sample[:, :, 0]

    return fit_preview(encode, decode, size=FIT_SIZE)
