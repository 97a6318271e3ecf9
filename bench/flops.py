"""FLOPs of each stage of an SVD generation, counted with `torch.utils.flop_counter` on the meta device, and the FLOPs
per pixel of every network a request can run, from which `svd.cost` estimates its work.

The models are built from a model folder's configs (or, for the text-to-image networks, their published
architectures) without any weights or memory, and run on meta tensors: the counts are exact for the architecture and
take seconds on any machine, GPU or not. The small finishing networks run on real tensors of a small frame.

    python bench/flops.py      # the rates per pixel, as svd.cost uses them
"""

from __future__ import annotations

import json
import sys
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


SDXL_UNET = dict(
    sample_size=128, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(320, 640, 1280),
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"), transformer_layers_per_block=(1, 2, 10),
    attention_head_dim=(5, 10, 20), cross_attention_dim=2048, use_linear_projection=True,
    addition_embed_type="text_time", addition_time_embed_dim=256, projection_class_embeddings_input_dim=2816,
)  # fmt: skip
"""Stable Diffusion XL's UNet (2.57 B parameters), which DreamShaper XL Lightning shares."""
FLUX_TRANSFORMER = dict(
    patch_size=1, in_channels=64, num_layers=19, num_single_layers=38, attention_head_dim=128, num_attention_heads=24,
    joint_attention_dim=4096, pooled_projection_dim=768, guidance_embeds=False,
)  # fmt: skip
"""FLUX.1 schnell's transformer (11.9 B parameters)."""
IMAGE_VAE = dict(
    block_out_channels=(128, 256, 512, 512), layers_per_block=2,
    down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
)  # fmt: skip
"""The picture VAE of SDXL (4 latent channels) and FLUX (16)."""


def svd_rates(svd: StageFlops, width: int, height: int, frames: int) -> dict[str, float]:
    """SVD's FLOPs per pixel, as `svd.cost` uses them, from a generation's counts (guided): its UNet per frame, step
    and batch element, its VAE decoder per frame and its encoder per picture."""
    return {
        "svd_step": svd.unet_step / (2 * frames * width * height),
        "svd_decode": svd.vae_decode / (frames * width * height),
        "svd_encode": svd.vae_encode / (width * height),
    }


def network_rates() -> dict[str, float]:
    """The other networks' FLOPs per pixel, as `svd.cost` uses them: SDXL's and FLUX's denoiser per step and their
    VAE decoder (at 1024x1024); RIFE per pixel of a new frame; each upscaler per input pixel (at 64x64)."""
    from diffusers import AutoencoderKL, FluxTransformer2DModel, UNet2DConditionModel
    from spandrel.architectures.Compact import Compact
    from spandrel.architectures.ESRGAN import ESRGAN

    from svd.finish.rife import IFNet

    side, small, tokens = 1024, 64, (1024 // 16) ** 2
    with torch.device("meta"):
        sdxl, flux = UNet2DConditionModel(**SDXL_UNET), FluxTransformer2DModel(**FLUX_TRANSFORMER)
        vae, rife = AutoencoderKL(**IMAGE_VAE, latent_channels=4), IFNet()
        compact, rrdb = Compact(num_feat=64, num_conv=32), ESRGAN(num_filters=64, num_blocks=23)
        for model in (sdxl, flux, vae, rife, compact, rrdb):
            model.to("meta")  # a few parameters are made on the CPU whatever the default device
        latents, frame, tile = (
            torch.empty(1, 4, side // 8, side // 8),
            torch.empty(1, 3, 256, 256),
            torch.empty(1, 3, small, small),
        )
        sdxl_step = _count(
            sdxl, latents, torch.tensor(1.0), encoder_hidden_states=torch.empty(1, 77, 2048),
            added_cond_kwargs={"text_embeds": torch.empty(1, 1280), "time_ids": torch.empty(1, 6)},
        )  # fmt: skip
        flux_step = _count(
            flux, hidden_states=torch.empty(1, tokens, 64), encoder_hidden_states=torch.empty(1, 512, 4096),
            pooled_projections=torch.empty(1, 768), timestep=torch.tensor([1.0]), img_ids=torch.empty(tokens, 3),
            txt_ids=torch.empty(512, 3),
        )  # fmt: skip
        return {
            "sdxl_step": sdxl_step / side**2,
            "flux_step": flux_step / side**2,
            "image_decode": _count(vae.decode, latents) / side**2,
            "rife": _count(rife, frame, frame, torch.tensor([0.5])) / 256**2,
            "compact": _count(compact, tile) / small**2,
            "rrdb": _count(rrdb, tile) / small**2,
        }


def _count(function, *args, **kwargs) -> float:
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        function(*args, **kwargs)
    return float(counter.get_total_flops())


def _config(path: Path) -> dict:
    return json.loads(path.read_text())


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    svd = count_stage_flops(
        Path(__file__).resolve().parent.parent / "svd" / "families" / "svd" / "configs" / "svd-xt", 1024, 576, 25, 1
    )
    for name, rate in {**svd_rates(svd, 1024, 576, 25), **network_rates()}.items():
        print(f"{name:>13}: {rate / 1e6:9.4f} MFLOP per pixel")
