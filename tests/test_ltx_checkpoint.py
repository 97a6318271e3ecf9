"""The tiny LTX-Video model as Lightricks' one-file release (`svd.families.ltx.tiny_checkpoint`): diffusers takes it
for a checkpoint of the 0.9.5 layout, as it takes the real `ltxv-2b-0.9.8-distilled.safetensors`, loads from it exactly
the folder's transformer and VAE, and its names are those of Lightricks' own modules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from diffusers import AutoencoderKLLTXVideo, LTXVideoTransformer3DModel
from diffusers.loaders.single_file_utils import (
    convert_ltx_transformer_checkpoint_to_diffusers,
    convert_ltx_vae_checkpoint_to_diffusers,
    infer_diffusers_model_type,
)
from safetensors import safe_open
from safetensors.torch import load_file

from svd.families.ltx.tiny import save_random_model
from svd.families.ltx.tiny_checkpoint import save_random_checkpoint


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return save_random_model("tiny-ltx-095", tmp_path_factory.mktemp("ltx-095") / "tiny-ltx-095")


@pytest.fixture(scope="module")
def checkpoint(folder) -> Path:
    return save_random_checkpoint(folder, folder.parent / "ltxv-2b-0.9.8-distilled.safetensors")


def test_diffusers_types_it_as_the_095_layout(checkpoint):
    assert infer_diffusers_model_type(load_file(checkpoint)) == "ltx-video-0.9.5"


@pytest.mark.parametrize(
    ("model_class", "subfolder", "convert"),
    [
        (LTXVideoTransformer3DModel, "transformer", convert_ltx_transformer_checkpoint_to_diffusers),
        (AutoencoderKLLTXVideo, "vae", convert_ltx_vae_checkpoint_to_diffusers),
    ],
)
def test_from_single_file_loads_the_folders_weights(folder, checkpoint, model_class, subfolder, convert):
    expected = model_class.from_pretrained(folder / subfolder).state_dict()
    assert set(convert(load_file(checkpoint))) == set(expected)
    loaded = model_class.from_single_file(str(checkpoint), config=str(folder), subfolder=subfolder).state_dict()
    assert set(loaded) == set(expected)
    assert [name for name, tensor in loaded.items() if not torch.equal(tensor, expected[name])] == []


def test_names_and_configs_are_lightricks(checkpoint):
    with safe_open(checkpoint, "pt") as opened:
        names = set(opened.keys())
        configs = json.loads(opened.metadata()["config"])
    assert {
        "model.diffusion_model.patchify_proj.weight",
        "model.diffusion_model.adaln_single.emb.timestep_embedder.linear_1.weight",
        "model.diffusion_model.adaln_single.linear.weight",
        "model.diffusion_model.caption_projection.linear_1.weight",
        "model.diffusion_model.transformer_blocks.1.attn1.q_norm.weight",
        "model.diffusion_model.transformer_blocks.1.attn2.k_norm.weight",
        "model.diffusion_model.scale_shift_table",
        "vae.encoder.conv_in.conv.weight",
        "vae.encoder.down_blocks.0.res_blocks.0.conv1.conv.weight",
        "vae.encoder.down_blocks.1.conv.conv.weight",
        "vae.encoder.down_blocks.7.conv.conv.weight",
        "vae.encoder.conv_out.conv.weight",
        "vae.decoder.up_blocks.0.time_embedder.timestep_embedder.linear_1.weight",
        "vae.decoder.up_blocks.0.res_blocks.0.scale_shift_table",
        "vae.decoder.up_blocks.1.conv.conv.weight",
        "vae.decoder.up_blocks.6.res_blocks.0.conv2.conv.weight",
        "vae.decoder.timestep_scale_multiplier",
        "vae.decoder.last_time_embedder.timestep_embedder.linear_1.weight",
        "vae.decoder.last_scale_shift_table",
        "vae.per_channel_statistics.channel",
        "vae.per_channel_statistics.mean-of-means",
        "vae.per_channel_statistics.std-of-means",
        "vae.per_channel_statistics.mean-of-stds",
    } <= names
    diffusers_only = (".proj_in.", ".time_embed.", "norm_q", "norm_k", "resnets", "samplers", "mid_block", "latents_")
    assert [name for name in names if any(part in name for part in diffusers_only)] == []
    assert all(name.startswith(("model.diffusion_model.", "vae.")) for name in names)
    assert configs["transformer"]["_class_name"] == "Transformer3DModel"
    assert configs["vae"]["_class_name"] == "CausalVideoAutoencoder"
    assert configs["vae"]["encoder_blocks"][-2] == ["compress_all_res", {"multiplier": 8}]
