"""The sampler of consistency-distilled SVD (AnimateLCM-SVD-xt), as a diffusers scheduler the stock
`StableVideoDiffusionPipeline` drives like its own Euler scheduler.

The method (consistency models, Song et al. 2023, on SVD's EDM noise levels): the distilled UNet maps a noisy latent
at any noise level sigma straight to a clean one, through the same v-prediction preconditioning SVD was trained
with. Sampling with a few steps alternates the two halves:

    clean = c_skip(sigma) * x + c_out(sigma) * F(x / sqrt(sigma^2 + sigma_data^2), 0.25 * ln sigma)
    x     = clean + s_noise * sigma_next * z,     z ~ N(0, I)       (nothing is added after the last step)

with c_skip = sigma_data^2 / (sigma^2 + sigma_data^2) and c_out = -sigma * sigma_data / sqrt(sigma^2 + sigma_data^2).
The noise levels come from Karras et al.'s schedule over `num_train_timesteps` points between sigma_max and sigma_min
(rho = 7); n steps take every (num_train_timesteps // n)-th point from the top.

The noise a step adds is drawn from a generator per video (`seed_step_noise`), so a video is the same for the same
seed, batched with others or alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.schedulers.scheduling_utils import SchedulerMixin
from diffusers.utils import BaseOutput

STEP_NOISE_SEED_OFFSET = 2**32
"""A video's step noise comes from seed + this, a stream apart from the one its starting noise comes from."""


@dataclass
class ConsistencyStepOutput(BaseOutput):
    prev_sample: torch.Tensor
    denoised: torch.Tensor
    """The clean latents the model predicted at this step."""


class ConsistencySVDScheduler(SchedulerMixin, ConfigMixin):
    order = 1

    @register_to_config
    def __init__(
        self,
        num_train_timesteps: int = 40,
        sigma_min: float = 0.002,
        sigma_max: float = 700.0,
        sigma_data: float = 1.0,
        s_noise: float = 1.0,
        rho: float = 7.0,
    ):
        self.noise_generators: list[torch.Generator] | None = None
        self.set_timesteps(num_train_timesteps)

    def karras_sigmas(self, ramp: np.ndarray) -> np.ndarray:
        """Noise levels at positions `ramp` (0: sigma_max, 1: sigma_min) of Karras et al.'s schedule."""
        config = self.config
        high, low = config.sigma_max ** (1 / config.rho), config.sigma_min ** (1 / config.rho)
        return (high + ramp * (low - high)) ** config.rho

    def set_timesteps(
        self,
        num_inference_steps: int | None = None,
        device: str | torch.device | None = None,
        sigmas: list[float] | None = None,
    ) -> None:
        """n steps from the top of the schedule, or the given `sigmas` (from high to low, ending in 0), as the camera
        stage passes them to start part way down."""
        train_steps = self.config.num_train_timesteps
        if sigmas is None:
            if not 1 <= num_inference_steps <= train_steps:
                raise ValueError(f"steps must be 1 to {train_steps} for this sampler, not {num_inference_steps}")
            stride = train_steps // num_inference_steps
            levels = self.karras_sigmas(np.arange(num_inference_steps) * stride / (train_steps - 1))
            sigmas = [*levels.tolist(), 0.0]
        levels = torch.tensor(sigmas, dtype=torch.float32)
        if levels[-1] != 0 or len(levels) < 2:
            raise ValueError("sigmas must run from high to low and end in 0")
        self.sigmas = levels
        self.timesteps = (0.25 * torch.log(levels[:-1])).to(device)
        self.num_inference_steps = len(self.timesteps)
        self._step_index = 0

    @property
    def init_noise_sigma(self) -> float:
        """The pipeline's starting noise is drawn at unit scale and multiplied by this."""
        return float((self.sigmas[0] ** 2 + 1) ** 0.5)

    @property
    def step_index(self) -> int:
        return self._step_index

    def seed_step_noise(self, seeds: list[int]) -> None:
        """One generator per video of the batch, from its seed, for the noise each step adds."""
        self.noise_generators = [torch.Generator("cpu").manual_seed(seed + STEP_NOISE_SEED_OFFSET) for seed in seeds]

    def scale_model_input(self, sample: torch.Tensor, timestep: float | torch.Tensor | None = None) -> torch.Tensor:
        sigma = self.sigmas[self._step_index]
        return sample / (sigma**2 + self.config.sigma_data**2) ** 0.5

    def scalings(self, sigma: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(c_skip, c_out) at `sigma`: how much of the input and of the model's output make the clean latents."""
        data = self.config.sigma_data
        return data**2 / (sigma**2 + data**2), -sigma * data / (sigma**2 + data**2) ** 0.5

    def step(
        self,
        model_output: torch.Tensor,
        timestep: float | torch.Tensor,
        sample: torch.Tensor,
        generator: torch.Generator | None = None,
        return_dict: bool = True,
    ) -> ConsistencyStepOutput | tuple[torch.Tensor]:
        sigma, sigma_next = self.sigmas[self._step_index], self.sigmas[self._step_index + 1]
        c_skip, c_out = self.scalings(sigma)
        denoised = c_skip * sample.float() + c_out * model_output.float()
        prev_sample = denoised
        if sigma_next > 0:
            prev_sample = denoised + self.config.s_noise * sigma_next * self._noise(sample, generator)
        self._step_index += 1
        prev_sample, denoised = prev_sample.to(sample.dtype), denoised.to(sample.dtype)
        if not return_dict:
            return (prev_sample,)
        return ConsistencyStepOutput(prev_sample=prev_sample, denoised=denoised)

    def _noise(self, sample: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        generators = self.noise_generators or [generator] * len(sample)
        if len(generators) != len(sample):
            raise ValueError(f"{len(generators)} noise generators for a batch of {len(sample)}")
        draws = [torch.randn(sample.shape[1:], generator=item, dtype=torch.float32) for item in generators]
        return torch.stack(draws).to(sample.device)

    def __len__(self) -> int:
        return self.config.num_train_timesteps
