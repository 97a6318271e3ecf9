"""Live previews: the frames a run is making, shown every few steps while it denoises, made from the latents alone.

A VAE's latent channels map to colour almost linearly at the scale of one latent cell (ComfyUI's latent previews
rest on this), so a preview is one small matrix product per frame, with no decoder pass and no extra weights.

The map is fitted by least squares from the loaded model's own VAE, once per load, on first use: a few smooth
random colour pictures are encoded and decoded, and the decoded pixels, averaged over each latent cell, are
regressed on the latents (with a bias). Fitting it from the VAE in hand, instead of shipping numbers, makes it right
for any VAE a family loads, the tiny random ones of the tests included.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

FIT_PICTURES = 4
FIT_SIZE = 64
"""Four 64x64 pictures: 8x8 latent cells each at x8, 256 samples for a few dozen unknowns."""


@dataclass(frozen=True)
class LatentPreview:
    """RGB in [0, 1] = latents (channels last) @ `weights` + `bias`."""

    weights: torch.Tensor
    """(latent channels, 3)"""
    bias: torch.Tensor
    """(3,)"""

    @torch.no_grad()
    def frames(self, latents: torch.Tensor) -> np.ndarray:
        """(frames, channels, h, w) latents, in the space the pipeline denoises, as (frames, h, w, 3) uint8 RGB.
        Computed where the latents are, so only the small RGB frames come back to the CPU."""
        weights = self.weights.to(latents.device)
        rgb = torch.einsum("fchw,cr->fhwr", latents.to(weights.dtype), weights) + self.bias.to(latents.device)
        return (rgb.clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()


@dataclass(frozen=True)
class Previews:
    """What a run asked for: a preview every `every` denoising steps, and at the last, drawn with `latent`."""

    latent: LatentPreview
    every: int

    def due(self, step: int, total: int) -> bool:
        return step % self.every == 0 or step == total


Encode = Callable[[torch.Tensor], torch.Tensor]
"""(N, 3, H, W) pixels in [-1, 1] to (N, C, H / s, W / s) latents in the space the pipeline denoises."""
Decode = Callable[[torch.Tensor], torch.Tensor]
"""Those latents back to (N, 3, H, W) pixels in [-1, 1]."""


@torch.no_grad()
def fit_preview(encode: Encode, decode: Decode, seed: int = 0, size: int = FIT_SIZE) -> LatentPreview:
    """The least-squares latent-to-RGB map of the VAE behind `encode` and `decode`, fitted on pictures of `size`
    pixels a side (larger for a VAE with large latent cells and many channels, so that the cells outnumber the
    unknowns)."""
    generator = torch.Generator("cpu").manual_seed(seed)
    coarse = torch.rand(FIT_PICTURES, 3, 4, 4, generator=generator) * 2 - 1
    pictures = F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False).clamp(-1, 1)
    latents = encode(pictures).float().cpu()
    decoded = decode(latents).float().cpu().clamp(-1, 1)
    cell = size // latents.shape[-1]
    targets = (F.avg_pool2d(decoded, cell) + 1) / 2
    channels = latents.shape[1]
    inputs = latents.permute(0, 2, 3, 1).reshape(-1, channels).double()
    inputs = torch.cat([inputs, torch.ones(len(inputs), 1, dtype=inputs.dtype)], dim=1)
    solution = torch.linalg.lstsq(inputs, targets.permute(0, 2, 3, 1).reshape(-1, 3).double()).solution
    return LatentPreview(solution[:-1].float(), solution[-1].float())
