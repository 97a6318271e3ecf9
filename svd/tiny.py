"""A tiny random-weight SVD model in the exact diffusers layout, for tests and offline demos. It produces noise.

It keeps the real geometry: the same component classes, a VAE that downsamples x8 (four blocks), a CLIP image size of
224, and the real scheduler. Its native size is 256x144 (sides divisible by 16, since its UNet downsamples once), so
a default generation takes seconds on a 2-core CPU.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch
from diffusers import (
    AutoencoderKLTemporalDecoder,
    EulerDiscreteScheduler,
    StableVideoDiffusionPipeline,
    UNetSpatioTemporalConditionModel,
)
from transformers import CLIPImageProcessorPil, CLIPVisionConfig, CLIPVisionModelWithProjection

from .models import DEFAULTS_FILE, ModelDefaults

NOTICE = "tiny random-weight test model: it produces noise, not video"
TINY_DEFAULTS = ModelDefaults(
    width=256, height=144, size_multiple=16, num_frames=8, fps=7, num_inference_steps=4, notice=NOTICE
)

SVD_SCHEDULER_CONFIG = dict(
    beta_start=0.00085,
    beta_end=0.012,
    beta_schedule="scaled_linear",
    prediction_type="v_prediction",
    use_karras_sigmas=True,
    sigma_min=0.002,
    sigma_max=700.0,
    timestep_type="continuous",
    timestep_spacing="leading",
    steps_offset=1,
    interpolation_type="linear",
)
"""The scheduler configuration that ships with the SVD models."""

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def build_tiny_pipeline(seed: int = 0) -> StableVideoDiffusionPipeline:
    torch.manual_seed(seed)
    unet = UNetSpatioTemporalConditionModel(
        in_channels=8,
        out_channels=4,
        down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
        up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
        block_out_channels=(32, 64),
        addition_time_embed_dim=32,
        projection_class_embeddings_input_dim=3 * 32,
        layers_per_block=1,
        cross_attention_dim=32,
        num_attention_heads=(2, 4),
        num_frames=TINY_DEFAULTS.num_frames,
    )
    vae = AutoencoderKLTemporalDecoder(
        block_out_channels=(32, 32, 32, 32),
        down_block_types=("DownEncoderBlock2D",) * 4,
        layers_per_block=1,
        latent_channels=4,
        sample_size=TINY_DEFAULTS.width,
    )
    image_encoder = CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=32,
            projection_dim=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=37,
            image_size=224,
            patch_size=14,
        )
    )
    feature_extractor = CLIPImageProcessorPil(
        size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224}, image_mean=CLIP_MEAN, image_std=CLIP_STD
    )
    return StableVideoDiffusionPipeline(
        vae=vae,
        image_encoder=image_encoder,
        unet=unet,
        scheduler=EulerDiscreteScheduler(**SVD_SCHEDULER_CONFIG),
        feature_extractor=feature_extractor,
    )


def save_tiny_model(folder: Path, variant: str | None = None, seed: int = 0) -> Path:
    """Write the tiny model to `folder`; with `variant="fp16"` only fp16 weights, as `svd download` fetches them."""
    pipe = build_tiny_pipeline(seed)
    if variant == "fp16":
        pipe.to(torch.float16)
    elif variant is not None:
        raise ValueError(f"variant must be fp16 or None, not {variant!r}")
    folder.mkdir(parents=True, exist_ok=True)
    pipe.save_pretrained(folder, variant=variant, safe_serialization=True)
    _name_feature_extractor_like_the_real_models(folder)
    (folder / DEFAULTS_FILE).write_text(json.dumps(dataclasses.asdict(TINY_DEFAULTS), indent=2) + "\n")
    return folder


def _name_feature_extractor_like_the_real_models(folder: Path) -> None:
    """The SVD repos name `CLIPImageProcessor` (transformers picks its backend at load time); the tiny model is
    built with the Pillow backend, which needs no torchvision, and is written under the same name."""
    index_file = folder / "model_index.json"
    index = json.loads(index_file.read_text())
    index["feature_extractor"] = ["transformers", "CLIPImageProcessor"]
    index_file.write_text(json.dumps(index, indent=2) + "\n")
