"""The guide as LTX-Video's starting point, through the pipeline's own video-to-video path: the guide video's VAE
latents, normalised as the pipeline normalises its conditions, given as `latents=` with a `denoise_strength` below
1. The pipeline then mixes them with the seed's noise in flow-matching form, x_t = (1 - sigma) * x0 + sigma * noise,
at the sigma of its own schedule where the kept steps begin, and runs only those; the picture stays the condition
at frame 0.

Strength means what it means for the other families: of N steps, round(strength * N) are skipped (at least one still
runs). The noise is the very noise the plain pipeline starts from with the same seed (its generator's first draw),
so a move differs from plain LTX-Video only by the guide it starts from. With two passes the guide starts the first,
resized to its size.
"""

from __future__ import annotations

import numpy as np
import torch
from diffusers import LTXConditionPipeline

from ..svd.guide_start import skipped_steps
from .recipe import recipe_of
from .upsampler import resized


@torch.no_grad()
def encode_video(pipe: LTXConditionPipeline, frames: np.ndarray) -> torch.Tensor:
    """The normalised VAE latents of uint8 frames (F, H, W, 3) as one video: (1, C, 1 + (F - 1) / 8, H / 32,
    W / 32)."""
    vae = pipe.vae
    pixels = torch.from_numpy(frames).permute(3, 0, 1, 2)[None]  # (1, 3, F, H, W)
    latents = vae.encode(pixels.to(pipe._execution_device, vae.dtype) / 127.5 - 1).latent_dist.mode()
    return pipe._normalize_latents(latents, vae.latents_mean, vae.latents_std).float().cpu()


def denoise_strength(skip: int, num_steps: int) -> float:
    """The pipeline's `denoise_strength` that leaves out the first `skip` of `num_steps` steps: it keeps
    int(num_steps * strength) of them, so the half step keeps the count whole against rounding."""
    return min(1.0, (num_steps - skip + 0.5) / num_steps) if skip else 1.0


def start_from_guide(
    pipe: LTXConditionPipeline, frames: np.ndarray, strength: float, num_steps: int, seed: int, chunk: int
) -> dict:
    """The pipeline's `latents=` (the guide, noised by the pipeline) and `denoise_strength`, and the steps they
    skip (`svd.families.camera.StartFrom`); `seed` and `chunk` are not needed (the pipeline draws the noise from the
    run's generator; its VAE takes no decode chunk)."""
    skip = skipped_steps(strength, num_steps)
    two_pass = recipe_of(pipe).two_pass
    if two_pass is not None:  # the guide starts the first pass, at its size
        height, width = frames.shape[1:3]
        frames = resized(frames, *two_pass.first_size(width, height, pipe.vae_spatial_compression_ratio))
    return {"latents": encode_video(pipe, frames), "denoise_strength": denoise_strength(skip, num_steps), "skip": skip}
