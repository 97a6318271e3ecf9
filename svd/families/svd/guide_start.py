"""The guide as the denoising's starting point (SDEdit): its VAE latents plus noise at an intermediate sigma, and
the rest of the model's own sigma schedule from there, both passed to the stock pipeline (`latents=`, `sigmas=`).

Strength s of N steps skips the first round(s * N) steps of the schedule (at least one step still runs). The noise
is the very noise the plain pipeline starts from with the same seed, so a move differs from plain SVD only by the
guide it starts from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from diffusers import StableVideoDiffusionPipeline
from diffusers.utils.torch_utils import randn_tensor


@dataclass(frozen=True)
class GuideStart:
    latents: torch.Tensor
    """The pipeline's `latents=` argument: the noised guide divided by the scheduler's `init_noise_sigma`, which the
    pipeline multiplies back."""
    sigmas: list[float]
    """The pipeline's `sigmas=` argument: the model's schedule from the starting sigma on, its final 0 included."""

    @property
    def start_sigma(self) -> float:
        return self.sigmas[0]

    @property
    def steps(self) -> int:
        return len(self.sigmas) - 1


def skipped_steps(strength: float, num_steps: int) -> int:
    return min(round(strength * num_steps), num_steps - 1)


def full_schedule(pipe: StableVideoDiffusionPipeline, num_steps: int) -> list[float]:
    """The sigmas the pipeline uses for `num_steps` steps (asked of a copy of its scheduler, which stays as it is)."""
    scheduler = type(pipe.scheduler).from_config(pipe.scheduler.config)
    scheduler.set_timesteps(num_steps)
    return scheduler.sigmas.tolist()


def plain_start_noise(pipe: StableVideoDiffusionPipeline, seed: int, num_frames: int, height: int, width: int):
    """The unscaled noise the plain pipeline starts from for `seed`: its generator first draws the picture's noise
    augmentation, then the latents."""
    generator = torch.Generator("cpu").manual_seed(seed)
    randn_tensor((1, 3, height, width), generator=generator, device=torch.device("cpu"), dtype=torch.float32)
    scale = pipe.vae_scale_factor
    shape = (1, num_frames, pipe.unet.config.in_channels // 2, height // scale, width // scale)
    return randn_tensor(shape, generator=generator, device=torch.device("cpu"), dtype=pipe.image_encoder.dtype)


@torch.no_grad()
def encode_frames(pipe: StableVideoDiffusionPipeline, frames: np.ndarray, chunk: int) -> torch.Tensor:
    """The VAE latents of uint8 frames (F, H, W, 3), scaled as the denoiser sees them: (1, F, C, H/8, W/8).

    The VAE runs in float32 where the pipeline would upcast it for its own encode (fp16 with `force_upcast`)."""
    vae = pipe.vae
    upcast = vae.dtype == torch.float16 and vae.config.force_upcast
    if upcast:
        vae.to(dtype=torch.float32)
    try:
        pixels = torch.from_numpy(frames).permute(0, 3, 1, 2)
        latents = []
        for start in range(0, len(pixels), chunk):
            batch = pixels[start : start + chunk].to(pipe._execution_device, vae.dtype) / 127.5 - 1
            latents.append(vae.encode(batch).latent_dist.mode() * vae.config.scaling_factor)
    finally:
        if upcast:
            vae.to(dtype=torch.float16)
    return torch.cat(latents)[None]


def guide_start(
    pipe: StableVideoDiffusionPipeline,
    frames: np.ndarray,
    strength: float,
    num_steps: int,
    seed: int,
    chunk: int,
) -> GuideStart:
    """Encode the guide `frames` and noise them to the sigma that `strength` picks in the `num_steps` schedule."""
    sigmas = full_schedule(pipe, num_steps)[skipped_steps(strength, num_steps) :]
    guide = encode_frames(pipe, frames, chunk).float().cpu()
    num_frames, height, width = frames.shape[:3]
    noise = plain_start_noise(pipe, seed, num_frames, height, width).float()
    scheduler = type(pipe.scheduler).from_config(pipe.scheduler.config)
    scheduler.set_timesteps(sigmas=sigmas)
    noised = (guide + sigmas[0] * noise) / scheduler.init_noise_sigma
    return GuideStart(latents=noised.to(pipe.image_encoder.dtype), sigmas=sigmas)


def start_from_guide(
    pipe: StableVideoDiffusionPipeline, frames: np.ndarray, strength: float, num_steps: int, seed: int, chunk: int
) -> dict:
    """The pipeline's arguments for the camera stage (`svd.families.camera.StartFrom`)."""
    start = guide_start(pipe, frames, strength, num_steps, seed, chunk)
    return {"latents": start.latents, "sigmas": start.sigmas}
