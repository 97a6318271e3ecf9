"""A tiny random-weight text-to-image model in the exact diffusers layout of an SDXL repository (`model_index.json`,
`unet/`, `vae/`, `text_encoder/`, `text_encoder_2/`, `tokenizer/`, `tokenizer_2/`, `scheduler/`), for tests and
offline trials: it loads through `AutoPipelineForText2Image` like the real one, and its pictures are noise.

No tokenizer files can be downloaded here, so the tokenizers get a vocabulary of their own: every byte-level
character, alone and at the end of a word, and no merges (one token per character).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer
from transformers.convert_slow_tokenizer import bytes_to_unicode

from .catalogue import DEFAULTS_FILE

START, END = "<|startoftext|>", "<|endoftext|>"
TINY_DEFAULTS = {"steps": 2, "guidance": 2.0, "pixels": 128 * 96}
"""Small pictures in few steps, so a first frame takes a fraction of a second on a CPU."""


def save_random_text_model(folder: Path, seed: int = 0) -> Path:
    """Write the tiny SDXL-layout model to `folder`."""
    torch.manual_seed(seed)
    text = dict(hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2, projection_dim=32)
    text_encoder = CLIPTextModel(CLIPTextConfig(**text, vocab_size=600, bos_token_id=0, eos_token_id=1))
    text_encoder_2 = CLIPTextModelWithProjection(
        CLIPTextConfig(**text, vocab_size=600, bos_token_id=0, eos_token_id=1)
    )
    unet = UNet2DConditionModel(
        block_out_channels=(16, 32), layers_per_block=1, sample_size=16, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4), use_linear_projection=True, addition_embed_type="text_time",
        addition_time_embed_dim=8, transformer_layers_per_block=(1, 1), cross_attention_dim=64, norm_num_groups=8,
        projection_class_embeddings_input_dim=6 * 8 + 32,  # six size numbers of 8 each, and the pooled text
    )  # fmt: skip
    vae = AutoencoderKL(
        block_out_channels=[8, 16, 16, 16], in_channels=3, out_channels=3, latent_channels=4, norm_num_groups=8,
        down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4, sample_size=64,
    )  # fmt: skip
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", timestep_spacing="trailing", steps_offset=1
    )
    tokenizers = [_tokenizer(pad) for pad in (END, "!")]
    pipe = StableDiffusionXLPipeline(
        vae=vae, text_encoder=text_encoder, text_encoder_2=text_encoder_2, tokenizer=tokenizers[0],
        tokenizer_2=tokenizers[1], unet=unet, scheduler=scheduler,
    )  # fmt: skip
    pipe.save_pretrained(folder, safe_serialization=True)
    (folder / DEFAULTS_FILE).write_text(json.dumps(TINY_DEFAULTS) + "\n")
    return folder


def _tokenizer(pad: str) -> CLIPTokenizer:
    """A CLIP tokenizer whose vocabulary is every byte-level character, alone and ending a word."""
    characters = list(bytes_to_unicode().values())
    tokens = [START, END, *characters, *(character + "</w>" for character in characters)]
    vocabulary = {token: index for index, token in enumerate(tokens)}
    return CLIPTokenizer(vocab=vocabulary, merges=[], pad_token=pad, model_max_length=77)
