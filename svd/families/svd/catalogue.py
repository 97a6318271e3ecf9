"""The Stable Video Diffusion models of the catalogue, and what the family's folders and requests look like."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from ...models.download import FP16_FILES
from ...models.entries import CatalogueEntry, DistilledUNet, FamilyKind, ModelDefaults, NetworkWork

SVD_WORK = NetworkWork(step=5.42e6, decode=11.8e6, encode=4.42e6)
"""FLOPs per pixel of SVD's UNet (per frame, step and batch element), VAE decoder (per frame) and encoder, counted
at 1024x576 (bench/flops.py): 160 TFLOP a guided step and 174 TFLOP the decode of 25 frames."""


def folder_defaults(path: Path) -> ModelDefaults:
    """An SVD folder's defaults: the catalogue's, with the frame count its UNet was trained for."""
    try:
        unet_config = json.loads((path / "unet" / "config.json").read_text())
    except (OSError, ValueError):
        return ModelDefaults()
    return ModelDefaults(num_frames=int(unet_config.get("num_frames", ModelDefaults.num_frames)))


SVD_KIND = FamilyKind(
    name="svd",
    title="Stable Video Diffusion",
    class_names=("StableVideoDiffusionPipeline",),
    components=("unet", "vae", "image_encoder", "feature_extractor", "scheduler"),
    files=tuple(FP16_FILES),
    work=SVD_WORK,
    folder_defaults=folder_defaults,
    own_settings=("motion_bucket_id", "noise_aug_strength", "min_guidance_scale"),
)

TURBO = ModelDefaults(
    num_inference_steps=4,
    min_guidance_scale=1.0,
    max_guidance_scale=1.0,
    max_steps=40,
    notice="Turbo: 4 steps without guidance, several times faster than SVD-XT but less stable; for trying ideas",
)
"""AnimateLCM-SVD-xt was distilled for 1-8 steps, 4 recommended, at guidance 1 (so no guidance batch)."""
ANIMATELCM = "wangfuyun/AnimateLCM-SVD-xt"


SVD_MODELS = (
    CatalogueEntry(
        "svd",
        "stabilityai/stable-video-diffusion-img2vid",
        "SVD (14 frames)",
        ModelDefaults(num_frames=14),
    ),
    CatalogueEntry(
        "svd-xt",
        "stabilityai/stable-video-diffusion-img2vid-xt",
        "SVD-XT (25 frames)",
        ModelDefaults(num_frames=25),
    ),
    CatalogueEntry(
        "svd-xt-1.1",
        "stabilityai/stable-video-diffusion-img2vid-xt-1-1",
        "SVD-XT 1.1 (25 frames, tuned for 6 fps and motion 127)",
        ModelDefaults(num_frames=25, fps=6, motion_bucket_id=127),
    ),
    CatalogueEntry(
        "svd-xt-turbo",
        "stabilityai/stable-video-diffusion-img2vid-xt",
        "SVD-XT Turbo (AnimateLCM, 4 steps)",
        TURBO,
        (DistilledUNet(ANIMATELCM, "AnimateLCM-SVD-xt.safetensors"),),
    ),
    CatalogueEntry(
        "svd-xt-1.1-turbo",
        "stabilityai/stable-video-diffusion-img2vid-xt-1-1",
        "SVD-XT 1.1 Turbo (AnimateLCM, 4 steps)",
        replace(TURBO, fps=6, motion_bucket_id=127),
        (DistilledUNet(ANIMATELCM, "AnimateLCM-SVD-xt-1.1.safetensors"),),
    ),
)
