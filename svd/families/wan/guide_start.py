"""The guide as Wan's starting point (SDEdit in flow-matching form): the guide video's VAE latents, normalised as the
pipeline normalises them, mixed with noise as x_t = (1 - sigma) * x0 + sigma * noise at the sigma of the model's own
schedule that the strength picks, and the steps before it skipped.

Strength means what it means for SVD: of N steps, round(strength * N) are skipped (at least one still runs). The
noise is the very noise the plain pipeline starts from with the same seed (its generator's first draw), so a move
differs from plain Wan only by the guide it starts from.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import torch
from diffusers import WanImageToVideoPipeline
from diffusers.utils.torch_utils import randn_tensor

from ..svd.guide_start import skipped_steps


def full_schedule(pipe: WanImageToVideoPipeline, num_steps: int) -> list[float]:
    """The sigmas the pipeline uses for `num_steps` steps (asked of a copy of its scheduler)."""
    scheduler = type(pipe.scheduler).from_config(pipe.scheduler.config)
    scheduler.set_timesteps(num_steps)
    return scheduler.sigmas.tolist()


@torch.no_grad()
def encode_video(pipe: WanImageToVideoPipeline, frames: np.ndarray) -> torch.Tensor:
    """The normalised VAE latents of uint8 frames (F, H, W, 3) as one video: (1, C, 1 + (F - 1) / 4, H / s, W / s)."""
    vae = pipe.vae
    pixels = torch.from_numpy(frames).permute(3, 0, 1, 2)[None]  # (1, 3, F, H, W)
    latents = vae.encode(pixels.to(pipe._execution_device, vae.dtype) / 127.5 - 1).latent_dist.mode()
    shape = (1, vae.config.z_dim, 1, 1, 1)
    mean = torch.tensor(vae.config.latents_mean).view(shape).to(latents)
    std = torch.tensor(vae.config.latents_std).view(shape).to(latents)
    return ((latents - mean) / std).float().cpu()


def start_from_guide(
    pipe: WanImageToVideoPipeline, frames: np.ndarray, strength: float, num_steps: int, seed: int, chunk: int
) -> dict:
    """The pipeline's `latents=` (the noised guide) and the steps to skip (`svd.families.camera.StartFrom`);
    `chunk` is SVD's decode chunk, unused by Wan's VAE."""
    skip = skipped_steps(strength, num_steps)
    sigma = full_schedule(pipe, num_steps)[skip]
    guide = encode_video(pipe, frames)
    generator = torch.Generator("cpu").manual_seed(seed)
    noise = randn_tensor(guide.shape, generator=generator, device=torch.device("cpu"), dtype=torch.float32)
    return {"latents": (1 - sigma) * guide + sigma * noise, "skip": skip}


@contextlib.contextmanager
def skipping(pipe: WanImageToVideoPipeline, skip: int) -> Iterator[None]:
    """While open, the schedule the pipeline sets starts `skip` steps in (the pipeline takes no schedule of its
    own): its timesteps and sigmas lose their first `skip`, and the scheduler counts its steps from there."""
    set_timesteps = pipe.scheduler.set_timesteps

    def set_timesteps_from_the_start(*args, **kwargs) -> None:
        set_timesteps(*args, **kwargs)
        scheduler = pipe.scheduler
        scheduler.timesteps = scheduler.timesteps[skip:]
        scheduler.sigmas = scheduler.sigmas[skip:]
        scheduler.num_inference_steps = len(scheduler.timesteps)

    pipe.scheduler.set_timesteps = set_timesteps_from_the_start
    try:
        yield
    finally:
        del pipe.scheduler.set_timesteps  # the class's own again
