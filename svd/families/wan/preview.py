"""Wan's side of the live previews (`svd.preview`): its VAE's latent space, normalised by the VAE's own means and
deviations as the pipeline denoises it. Each fitting picture is encoded and decoded as a video of one frame (Wan's
VAE keeps the first frame alone in its first latent frame)."""

from __future__ import annotations

import torch
from diffusers import WanImageToVideoPipeline

from ...preview import LatentPreview, fit_preview


def fit_latent_preview(pipe: WanImageToVideoPipeline) -> LatentPreview:
    vae = pipe.vae
    device = pipe._execution_device
    shape = (1, vae.config.z_dim, 1, 1, 1)
    mean = torch.tensor(vae.config.latents_mean).view(shape).to(device, vae.dtype)
    std = torch.tensor(vae.config.latents_std).view(shape).to(device, vae.dtype)

    def encode(pixels: torch.Tensor) -> torch.Tensor:
        latents = vae.encode(pixels[:, :, None].to(device, vae.dtype)).latent_dist.mode()
        return ((latents - mean) / std)[:, :, 0]

    def decode(latents: torch.Tensor) -> torch.Tensor:
        return vae.decode(latents[:, :, None].to(device, vae.dtype) * std + mean).sample[:, :, 0]

    return fit_preview(encode, decode)
