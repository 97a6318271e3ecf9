"""A random-weight LTX-Video model in the diffusers layout of Lightricks' diffusers-format repositories
(`model_index.json` naming `LTXConditionPipeline`, `transformer/`, `vae/`, `text_encoder/`, `tokenizer/`,
`scheduler/`), built from the architecture configs in `configs/tiny-ltx/` beside this module. It loads with
`LTXConditionPipeline.from_pretrained(folder)`.

It keeps the real geometry where it shapes a run: the VAE packs 4x4 pixels into its patches and halves three times in
space and time (x32 in space, x8 in time: sizes multiples of 32, frames 8k + 1) and decodes at a timestep as 0.9.1
and later do; the transformer takes one token per latent cell (patch 1, as in every LTX-Video release) and the T5
encoder's states as its captions; the scheduler is flow-matching Euler without dynamic shifting (the condition
pipeline passes it no `mu`). A few channels and 1 MB of weights: a 2-step run of 9 frames at 96x64 takes a fraction
of a second on a 2-core CPU, and it produces noise. Its `svd_defaults.json` states small defaults and the distilled
models' kind of pipeline arguments (its own two timesteps, the decode noise).

`tiny-ltx-095` is the same model with the VAE of 0.9.5 to 0.9.8 (`configs/tiny-ltx-095/`), whose encoder ends at
the 2048 channels by which diffusers knows that layout; those, and the 256-channel stage that folds into them, make
its 13 MB. `svd.families.ltx.tiny_checkpoint` writes it as Lightricks' one-file release.

The T5 tokenizer is built locally (`svd.families.tokenizer`).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from diffusers import AutoencoderKLLTXVideo, FlowMatchEulerDiscreteScheduler, LTXConditionPipeline
from diffusers import LTXVideoTransformer3DModel as Transformer
from diffusers.pipelines.ltx.modeling_latent_upsampler import LTXLatentUpsamplerModel
from safetensors.torch import save_file
from transformers import T5Config, T5EncoderModel

from ...models.entries import DEFAULTS_FILE
from ..tokenizer import build_t5_tokenizer

CONFIGS = Path(__file__).parent / "configs"
TINY_ARCHITECTURES = ("tiny-ltx", "tiny-ltx-095")
INDEX_FILE = "model_index.json"
TEXT_LENGTH = 128
"""The tokenizer's `model_max_length` (the pipeline pads each prompt to its own `max_sequence_length`, 256)."""


def build_random_pipeline(architecture: str = "tiny-ltx", seed: int = 0) -> LTXConditionPipeline:
    """The pipeline with random weights, in evaluation mode (the T5 encoder has dropout)."""
    torch.manual_seed(seed)
    transformer = Transformer.from_config(_read(architecture, "transformer/config.json"))
    vae = AutoencoderKLLTXVideo.from_config(_read(architecture, "vae/config.json"))
    text_encoder = T5EncoderModel(T5Config.from_dict(_read(architecture, "text_encoder/config.json")))
    tokenizer = build_t5_tokenizer(TEXT_LENGTH)
    if len(tokenizer) > text_encoder.config.vocab_size:
        raise ValueError(f"{architecture}: {len(tokenizer)} tokens for {text_encoder.config.vocab_size} embeddings")
    scheduler = FlowMatchEulerDiscreteScheduler.from_config(_read(architecture, "scheduler/scheduler_config.json"))
    for model in (transformer, vae, text_encoder):
        model.eval()
    return LTXConditionPipeline(
        scheduler=scheduler, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, transformer=transformer
    )


def save_random_model(architecture: str, folder: Path, seed: int = 0) -> Path:
    """Write the model to `folder` in its Hub repositories' layout, with the class names their `model_index.json`
    gives (`T5TokenizerFast`, which transformers builds from the saved tokenizer), and its small defaults."""
    pipe = build_random_pipeline(architecture, seed)
    folder.mkdir(parents=True, exist_ok=True)
    pipe.save_pretrained(folder, safe_serialization=True)
    written = json.loads((folder / INDEX_FILE).read_text())
    index = {**_read(architecture, INDEX_FILE), "_diffusers_version": written["_diffusers_version"]}
    (folder / INDEX_FILE).write_text(json.dumps(index, indent=2) + "\n")
    shutil.copy(CONFIGS / architecture / DEFAULTS_FILE, folder / DEFAULTS_FILE)
    return folder


def _read(architecture: str, name: str) -> dict:
    if architecture not in TINY_ARCHITECTURES:
        raise ValueError(f"architecture must be one of {', '.join(TINY_ARCHITECTURES)}, not {architecture!r}")
    return json.loads((CONFIGS / architecture / name).read_text())


def save_random_upsampler(file: Path, latent_channels: int = 16, seed: int = 0) -> Path:
    """A random x2 spatial latent upsampler for the tiny models' latents, written as Lightricks publish theirs: one
    safetensors file with the architecture as JSON in its `config` metadata (their `LatentUpsampler`'s names)."""
    torch.manual_seed(seed)
    config = {
        "in_channels": latent_channels, "mid_channels": 32, "num_blocks_per_stage": 1, "dims": 3,
        "spatial_upsample": True, "temporal_upsample": False,
    }  # fmt: skip
    model = LTXLatentUpsamplerModel(**config)
    file.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"config": json.dumps({"_class_name": "LatentUpsampler", **config})}
    save_file({name: tensor.contiguous() for name, tensor in model.state_dict().items()}, str(file), metadata)
    return file
