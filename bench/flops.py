"""FLOPs of each stage of an SVD generation, counted with `torch.utils.flop_counter` on the meta device.

The models are built from a model folder's configs without any weights or memory, and run on meta tensors: the
counts are exact for the architecture and take a second on any machine, GPU or not.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from diffusers import AutoencoderKLTemporalDecoder, UNetSpatioTemporalConditionModel
from torch.utils.flop_counter import FlopCounterMode
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

CLIP_SIZE = 224


@dataclass(frozen=True)
class StageFlops:
    """FLOPs (multiply and add counted as two) of each stage, for one generation."""

    image_encoder: float
    vae_encode: float
    unet_step: float
    vae_decode: float
    steps: int

    @property
    def total(self) -> float:
        return self.image_encoder + self.vae_encode + self.unet_step * self.steps + self.vae_decode

    def as_dict(self) -> dict:
        return {**asdict(self), "total": self.total}


def count_stage_flops(
    model_folder: Path, width: int, height: int, num_frames: int, steps: int, guidance: bool = True
) -> StageFlops:
    """Count each stage at this size. `guidance` (max guidance above 1) runs the UNet on a batch of two."""
    with torch.device("meta"):
        unet = UNetSpatioTemporalConditionModel.from_config(_config(model_folder / "unet" / "config.json"))
        vae = AutoencoderKLTemporalDecoder.from_config(_config(model_folder / "vae" / "config.json"))
        image_encoder = CLIPVisionModelWithProjection(
            CLIPVisionConfig.from_dict(_config(model_folder / "image_encoder" / "config.json"))
        )
    for module in (unet, vae, image_encoder):
        module.to("meta")  # a few parameters are made on the CPU whatever the default device
    batch = 2 if guidance else 1
    latent = (height // 8, width // 8)
    with torch.device("meta"):
        return StageFlops(
            image_encoder=_count(image_encoder, torch.empty(1, 3, CLIP_SIZE, CLIP_SIZE)),
            vae_encode=_count(vae.encode, torch.empty(1, 3, height, width)),
            unet_step=_count(
                unet,
                torch.empty(batch, num_frames, unet.config.in_channels, *latent),
                torch.tensor(1.0),
                encoder_hidden_states=torch.empty(batch, 1, unet.config.cross_attention_dim),
                added_time_ids=torch.empty(batch, 3),
            ),
            vae_decode=_count(vae.decode, torch.empty(num_frames, vae.config.latent_channels, *latent), num_frames),
            steps=steps,
        )


def _count(function, *args, **kwargs) -> float:
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        function(*args, **kwargs)
    return float(counter.get_total_flops())


def _config(path: Path) -> dict:
    return json.loads(path.read_text())
