"""The LTX-Video models of the catalogue, and what the family's folders and requests look like.

Settings from diffusers' LTX-Video documentation and Lightricks' README: sizes multiples of 32 (the VAE packs 32x32
pixels into a latent cell), frames 8k + 1 (it packs 8 frames into a latent frame), 1216x704 at 30 fps by default
since 0.9.6. The distilled models run 8 steps at guidance 1 with their own timesteps, and their VAE decodes with a
little noise at timestep 0.05 (`pipeline_arguments`).

Which models are here, and why (checked through stored copies of the Hub pages and Lightricks' GitHub configs,
not live):
- 0.9.8 13B distilled: `Lightricks/LTX-Video-0.9.8-13B-distilled` is a diffusers-format repository (diffusers'
  documentation loads it with `LTXConditionPipeline.from_pretrained`).
- 0.9.8 2B distilled: Lightricks publish it only as one file in their own layout (`ltxv-2b-0.9.8-distilled.safetensors`
  in `Lightricks/LTX-Video`), holding the transformer and the VAE. diffusers' single-file loaders convert both; for a
  file of this layout diffusers takes the configs from `Lightricks/LTX-Video-0.9.5`, and so does this entry, with
  that repository's text encoder, tokenizer and scheduler (`OriginalCheckpoint`).
- Both run the two passes of Lightricks' configs for them (`multi-scale`, with `ltxv-spatial-upscaler-0.9.8`), in
  diffusers' form (`LatentUpsampler`).

Licence of the weights (0.9.6 and later): the LTXV Open Weights License, not Apache-2.0 (the code is). Its primary
text could not be read here; the copies that quote it agree that use, commercial use included, is free for an
entity with under US$10M annual revenue, that an entity at or above it needs a paid commercial licence from
Lightricks, and that its use restrictions (Attachment A) include saying that generated content is AI-made.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from ...models.entries import (
    REPOSITORY_FILES,
    CatalogueEntry,
    FamilyKind,
    HubFile,
    ModelDefaults,
    NetworkWork,
    OriginalCheckpoint,
)

LTX_13B_WORK = NetworkWork(step=4.7e6, decode=9.2e5, encode=1.5e6)
"""FLOPs per pixel. The step is estimated (not counted), at 121 frames of 1216x704 (103.6 M pixels, 13,376 tokens):
the 13.04 B transformer's 2 x 13.0 G multiply-adds a token (349 TFLOP) plus self-attention (141 TFLOP), as
BENCHMARKS.md works it out. Decode and encode were counted with torch's flop counter on diffusers' default LTX-Video
VAE (the 0.9.0 layout; 0.9.8's is wider in its encoder)."""

LICENCE = "LTXV Open Weights License (free under US$10M annual revenue, else a paid licence; disclose AI content)"

DISTILLED_TIMESTEPS = (1000.0, 993.0, 987.0, 981.0, 975.0, 909.0, 725.0, 0.03)
"""The distilled models' own schedule for a single pass (diffusers' documentation for 0.9.7 and 0.9.8 distilled)."""

DISTILLED = {
    "timesteps": list(DISTILLED_TIMESTEPS),
    "guidance_rescale": 0.7,
    "image_cond_noise_scale": 0.0,
    "decode_timestep": 0.05,
    "decode_noise_scale": 0.025,
}
"""The pipeline arguments of diffusers' examples for the distilled models (the timesteps only when the run takes
as many steps as they list)."""

TIMESTEP_DECODE = {"decode_timestep": 0.05, "decode_noise_scale": 0.025}
"""What diffusers recommends for a VAE that decodes at a timestep (0.9.1 and later)."""


@dataclass(frozen=True)
class LatentUpsampler(HubFile):
    """Lightricks' x2 spatial latent upsampler, which makes an entry run the card's two passes
    (`svd.families.ltx.upsampler`), and that recipe: the first pass at `downscale` of the size, the upsampled
    latents matched to the first pass's by AdaIN (`adain_factor`) and tone-mapped, then a second pass over
    `refine_timesteps` from them at `refine_strength`. Values from diffusers' documentation of 0.9.8 distilled
    (Lightricks' configs give the 2B no tone mapping)."""

    downscale: float = 2 / 3
    adain_factor: float = 1.0
    tone_map_compression_ratio: float = 0.0
    refine_timesteps: tuple[float, ...] = (1000.0, 909.0, 725.0, 421.0, 0.0)
    refine_strength: float = 0.999

    @property
    def refine_steps(self) -> int:
        """The steps the second pass runs: the pipeline keeps int(len(timesteps) * strength) of them."""
        return int(len(self.refine_timesteps) * self.refine_strength)

    def work_steps(self, steps: float) -> float:
        """The first pass's steps at downscale² of the pixels, the second's at (2 x downscale)² (FLOPs counted per
        pixel, as `svd.cost` counts them)."""
        return steps * self.downscale**2 + self.refine_steps * (2 * self.downscale) ** 2


LIGHTRICKS_FILES = "Lightricks/LTX-Video"
"""Lightricks' repository of single files in their own layout: checkpoints and upsamplers."""

UPSAMPLER_098 = "ltxv-spatial-upscaler-0.9.8.safetensors"

LTX_13B_DISTILLED = ModelDefaults(
    family="ltx", width=1216, height=704, size_multiple=32, num_frames=121, frame_step=8, fps=30,
    num_inference_steps=len(DISTILLED_TIMESTEPS), min_guidance_scale=1.0, max_guidance_scale=1.0, max_steps=50,
    full_min_gib=40, balanced_min_gib=18, pipeline_arguments=DISTILLED, last_frame="optional",
)  # fmt: skip
"""`auto`'s needs from the arithmetic in BENCHMARKS.md (bf16 weights: 24.3 GiB transformer, 8.9 GiB T5 encoder;
`balanced` stores the transformer in fp8 and offloads the encoder), not from a measurement."""

LTX_2B_DISTILLED = replace(LTX_13B_DISTILLED, full_min_gib=20, balanced_min_gib=10)
"""The 13B's recipe for the 2B (Lightricks' configs give both the same passes); `auto`'s needs from the arithmetic
(bf16 weights: 3.8 GiB transformer, 8.9 GiB T5 encoder), not from a measurement."""

LTX_FOLDER = ModelDefaults(
    family="ltx", width=768, height=512, size_multiple=32, num_frames=121, frame_step=8, fps=24,
    num_inference_steps=40, min_guidance_scale=3.0, max_guidance_scale=3.0, full_min_gib=40, balanced_min_gib=18,
    last_frame="optional",
)  # fmt: skip
"""An LTX-Video folder that states no defaults: the pipeline's own schedule and guidance at 768x512, as for the
models that are not distilled (a distilled one needs its `svd_defaults.json`, or a catalogue entry)."""

LTX_MODELS = (
    CatalogueEntry(
        "ltx-0.9.8-13b-distilled", "Lightricks/LTX-Video-0.9.8-13B-distilled",
        "LTX-Video 0.9.8 13B distilled (1216x704, 30 fps, 8 + 4 steps in two passes)", LTX_13B_DISTILLED,
        hub_files=(LatentUpsampler(LIGHTRICKS_FILES, UPSAMPLER_098, tone_map_compression_ratio=0.6),),
        facts=f"{LICENCE}; not gated; 13.0 B transformer (26.1 GB in bf16), 4.8 B T5 text encoder (9.5 GB), "
        "latent upsampler; 24 GB card with fp8 and offload",
    ),
    CatalogueEntry(
        "ltx-0.9.8-2b-distilled", "Lightricks/LTX-Video-0.9.5",
        "LTX-Video 0.9.8 2B distilled (1216x704, 30 fps, 8 + 4 steps in two passes)", LTX_2B_DISTILLED,
        hub_files=(
            OriginalCheckpoint(LIGHTRICKS_FILES, "ltxv-2b-0.9.8-distilled.safetensors", ("transformer", "vae")),
            LatentUpsampler(LIGHTRICKS_FILES, UPSAMPLER_098),
        ),
        facts=f"{LICENCE}; not gated; 1.9 B transformer and its VAE from one file in Lightricks' layout, the T5 text "
        "encoder (9.5 GB) and configs from LTX-Video 0.9.5's repository, latent upsampler; 24 GB card",
    ),
)  # fmt: skip


def folder_defaults(path: Path) -> ModelDefaults:
    """An LTX-Video folder's defaults: `LTX_FOLDER`, decoding at a timestep when its VAE is made to."""
    try:
        vae = json.loads((path / "vae" / "config.json").read_text())
    except (OSError, ValueError):
        return LTX_FOLDER
    if not vae.get("timestep_conditioning"):
        return LTX_FOLDER
    return replace(LTX_FOLDER, pipeline_arguments=dict(TIMESTEP_DECODE))


LTX_KIND = FamilyKind(
    name="ltx",
    title="LTX-Video",
    class_names=("LTXConditionPipeline", "LTXPipeline", "LTXImageToVideoPipeline"),  # what the repos name
    components=("transformer", "vae", "text_encoder", "tokenizer", "scheduler"),
    files=REPOSITORY_FILES,
    work=LTX_13B_WORK,
    folder_defaults=folder_defaults,
    takes_text=True,
    lora_keys=r"^(transformer\.|diffusion_model\.|lora_unet_)?transformer_blocks[._]\d+[._]",  # diffusers', LTX's
)
