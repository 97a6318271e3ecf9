"""The Wan 2.x image-to-video models of the catalogue, and what the family's folders and requests look like.

Settings from each model's card and diffusers' Wan documentation: sizes, frames (4k + 1: the VAE packs four frames
into a latent), fps, steps, guidance, the flow shift of the noise schedule. All are Apache-2.0 and not gated.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from ...models.entries import (
    REPOSITORY_FILES,
    CatalogueEntry,
    FamilyKind,
    FusedLora,
    ModelDefaults,
    NetworkWork,
)

WAN_14B_WORK = NetworkWork(step=5.9e7, decode=1.2e7, encode=4.4e6)
"""FLOPs per pixel, estimated (not counted): the 14B transformer's 2 x 16.4 G multiply-adds per token of 4 x 16 x 16
pixels, with self-attention over the 32,760 tokens of 81 frames at 832x480 about as much again; its VAE taken as
SVD's. `bench/flops.py` has not counted Wan's networks yet."""

NEGATIVE_PROMPT = (
    "bright tones, overexposed, static, blurred details, subtitles, style, works, paintings, images, static, overall "
    "gray, worst quality, low quality, JPEG compression residue, ugly, incomplete, extra fingers, poorly drawn hands, "
    "poorly drawn faces, deformed, disfigured, misshapen limbs, fused fingers, still picture, messy background, three "
    "legs, many people in the background, walking backwards"
)
"""The negative prompt of Wan's own examples (in English, as diffusers' documentation gives it)."""

TI2V_5B = ModelDefaults(
    family="wan", width=1280, height=704, size_multiple=32, num_frames=121, frame_step=4, fps=24,
    num_inference_steps=50, min_guidance_scale=5.0, max_guidance_scale=5.0, flow_shift=5.0, full_min_gib=28,
    balanced_min_gib=14,
)  # fmt: skip
I2V_14B_480P = ModelDefaults(
    family="wan", width=832, height=480, size_multiple=16, num_frames=81, frame_step=4, fps=16,
    num_inference_steps=40, min_guidance_scale=5.0, max_guidance_scale=5.0, flow_shift=3.0, full_min_gib=50,
    balanced_min_gib=21,
)  # fmt: skip
I2V_14B_720P = replace(I2V_14B_480P, width=1280, height=720, flow_shift=5.0, full_min_gib=52, balanced_min_gib=22)
I2V_A14B = replace(
    I2V_14B_720P, min_guidance_scale=3.5, max_guidance_scale=3.5, guidance_scale_2=3.5, full_min_gib=66,
    last_frame="optional",
)  # fmt: skip
FOUR_STEPS = dict(num_inference_steps=4, min_guidance_scale=1.0, max_guidance_scale=1.0, flow_shift=5.0)
"""The lightx2v step- and guidance-distilled LoRAs' recipe: 4 steps without guidance (one transformer call a
step instead of two), schedule shift 5."""
I2V_14B_480P_FAST = replace(I2V_14B_480P, **FOUR_STEPS)
I2V_A14B_FAST = replace(I2V_A14B, **FOUR_STEPS, guidance_scale_2=1.0)
LIGHTX2V_21 = "lightx2v/Wan2.1-Distill-Loras"
LIGHTX2V_22 = "lightx2v/Wan2.2-Distill-Loras"
FLF2V_14B_720P = replace(I2V_14B_720P, num_inference_steps=50, flow_shift=16.0, last_frame="required")
"""Wan 2.1 FLF2V: the 720p I2V network trained for a first and a last frame (its CLIP tokens of both pictures are
embedded together, so it needs both), 50 steps as Wan's own script runs it, with the schedule shift 16 that Wan's
conversion sets for it. The 2.2 A14B takes a last frame through its video condition alone; Wan 2.1 I2V's image
embedding takes one picture's tokens, and TI2V 5B puts the picture into the first latent frame only, so neither
takes one."""
"""The memory `auto` needs for `full` and `balanced` come from the arithmetic in BENCHMARKS.md (bf16 weights, the
transformers stored in fp8 for `balanced`, a few GiB of activations), not from a measurement."""

WAN_MODELS = (
    CatalogueEntry(
        "wan2.2-ti2v-5b", "Wan-AI/Wan2.2-TI2V-5B-Diffusers", "Wan 2.2 TI2V 5B (720p, 24 fps, 5 s)", TI2V_5B,
        facts="Apache-2.0, not gated; 5.0 B transformer, 5.7 B text encoder (11.4 GB); 24 GB card with offload",
    ),
    CatalogueEntry(
        "wan2.1-i2v-14b-480p", "Wan-AI/Wan2.1-I2V-14B-480P-Diffusers", "Wan 2.1 I2V 14B (480p, 16 fps, 5 s)",
        I2V_14B_480P,
        facts="Apache-2.0, not gated; 16.4 B transformer (65.6 GB stored), 5.7 B text encoder; about 79 GB download",
    ),
    CatalogueEntry(
        "wan2.1-i2v-14b-720p", "Wan-AI/Wan2.1-I2V-14B-720P-Diffusers", "Wan 2.1 I2V 14B (720p, 16 fps, 5 s)",
        I2V_14B_720P,
        facts="Apache-2.0, not gated; 16.4 B transformer (65.6 GB stored), 5.7 B text encoder; about 79 GB download",
    ),
    CatalogueEntry(
        "wan2.1-i2v-14b-480p-fast", "Wan-AI/Wan2.1-I2V-14B-480P-Diffusers", "Wan 2.1 I2V 14B 480p, 4 steps (lightx2v)",
        I2V_14B_480P_FAST,
        hub_files=(FusedLora(LIGHTX2V_21, "wan2.1_i2v_lora_rank64_lightx2v_4step.safetensors"),),
        facts="Wan 2.1 I2V 480p with lightx2v's 4-step distillation LoRA fused (739 MB more; its card states no "
        "licence: lightx2v's code is Apache-2.0); 4 steps, no guidance: about 20x fewer transformer calls",
    ),
    CatalogueEntry(
        "wan2.1-flf2v-14b-720p", "Wan-AI/Wan2.1-FLF2V-14B-720P-diffusers", "Wan 2.1 FLF2V 14B (first and last frames)",
        FLF2V_14B_720P,
        facts="Apache-2.0, not gated; made to go from a first to a last frame; 16.4 B transformer, 5.7 B text encoder",
    ),
    CatalogueEntry(
        "wan2.2-i2v-a14b", "Wan-AI/Wan2.2-I2V-A14B-Diffusers", "Wan 2.2 I2V A14B (two experts, 720p, 16 fps)",
        I2V_A14B,
        facts="Apache-2.0, not gated; two 14.3 B experts (about 57 GB each stored), 5.7 B text encoder; about 126 GB",
    ),
    CatalogueEntry(
        "wan2.2-i2v-a14b-fast", "Wan-AI/Wan2.2-I2V-A14B-Diffusers", "Wan 2.2 I2V A14B, 4 steps (lightx2v)",
        I2V_A14B_FAST,
        hub_files=(
            FusedLora(LIGHTX2V_22, "wan2.2_i2v_A14b_high_noise_lora_rank64_lightx2v_4step_1022.safetensors"),
            FusedLora(
                LIGHTX2V_22, "wan2.2_i2v_A14b_low_noise_lora_rank64_lightx2v_4step_1022.safetensors", "transformer_2"
            ),
        ),
        facts="Wan 2.2 A14B with lightx2v's 4-step distillation LoRAs fused into each expert (their licence: "
        "Apache-2.0, not gated; about 1.5 GB more); 4 steps, no guidance",
    ),
)  # fmt: skip


def folder_defaults(path: Path) -> ModelDefaults:
    """A Wan folder's defaults, by its layout: two experts (2.2 A14B), a CLIP image encoder with a position embedding
    for two pictures' tokens (2.1 FLF2V), a CLIP image encoder (2.1 I2V, taken at 480p), or neither (2.2 TI2V 5B)."""
    if (path / "transformer_2").is_dir():
        return I2V_A14B
    if (path / "image_encoder").is_dir():
        return FLF2V_14B_720P if _two_pictures(path) else I2V_14B_480P
    return TI2V_5B


def _two_pictures(path: Path) -> bool:
    """Whether the transformer embeds the positions of two pictures' image tokens, as FLF2V's does."""
    try:
        return bool(json.loads((path / "transformer" / "config.json").read_text()).get("pos_embed_seq_len"))
    except (OSError, ValueError):
        return False


WAN_KIND = FamilyKind(
    name="wan",
    title="Wan",
    class_names=("WanImageToVideoPipeline", "WanPipeline"),  # the TI2V 5B repo names the text-to-video pipeline
    components=("transformer", "vae", "text_encoder", "tokenizer", "scheduler"),
    files=(*REPOSITORY_FILES, "image_processor/*"),
    work=WAN_14B_WORK,
    folder_defaults=folder_defaults,
    takes_text=True,
    lora_keys=r"^(transformer\.|diffusion_model\.|lora_unet_)?blocks[._]\d+[._]",  # diffusers', Wan's, kohya's
)
