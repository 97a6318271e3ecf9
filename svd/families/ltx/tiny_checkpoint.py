"""A tiny LTX-Video model as Lightricks publish their later releases: ONE safetensors file in their original layout
(the transformer under `model.diffusion_model.`, the VAE under `vae.`, both models' configs in the file's metadata),
as `ltxv-2b-0.9.8-distilled.safetensors` is. It is written from a tiny model folder in the diffusers layout
(`save_random_model("tiny-ltx-095", folder)`), so a test can load it the way the real file loads (diffusers'
`from_single_file`) and compare it with the folder, without downloading the real one.

The key names are those of Lightricks' own modules (`ltx_video/models/transformers/transformer3d.py` and
`attention.py`, `ltx_video/models/autoencoders/causal_video_autoencoder.py`); the metadata configs are in the form
their loaders read (`Transformer3DModel`, `CausalVideoAutoencoder`, `RectifiedFlowScheduler`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch
from diffusers.utils import SAFETENSORS_WEIGHTS_NAME
from safetensors.torch import load_file, save_file

TRANSFORMER_PREFIX = "model.diffusion_model."
VAE_PREFIX = "vae."
STATISTICS_PREFIX = "per_channel_statistics."
LAYOUT_095 = "LTXVideo095DownBlock3D"
"""The encoder block of the 0.9.5 VAE (0.9.5 to 0.9.8), the only layout `_vae_name` numbers."""
TRANSFORMER_NAMES = (
    (r"^proj_in\.", "patchify_proj."),
    (r"^time_embed\.", "adaln_single."),
    (r"\.norm_q\.", ".q_norm."),
    (r"\.norm_k\.", ".k_norm."),
)
"""Where Lightricks' transformer names a module otherwise than diffusers' (every other name is the same)."""
DOWNSAMPLERS = {"spatial": "compress_space_res", "temporal": "compress_time_res", "spatiotemporal": "compress_all_res"}


def save_random_checkpoint(folder: Path, file: Path) -> Path:
    """Write the transformer and VAE of the diffusers-layout model in `folder` to `file`, in Lightricks' layout."""
    transformer_config = _config(folder, "transformer")
    vae_config = _config(folder, "vae")
    if vae_config["down_block_types"][-1] != LAYOUT_095:
        raise ValueError(f"{folder}: the VAE is not in the 0.9.5 layout ({LAYOUT_095} blocks)")
    transformer = load_file(folder / "transformer" / SAFETENSORS_WEIGHTS_NAME)
    vae = load_file(folder / "vae" / SAFETENSORS_WEIGHTS_NAME)
    statistics = _statistics(vae.pop("latents_mean"), vae.pop("latents_std"))
    down_blocks = len(vae_config["down_block_types"])
    tensors = {TRANSFORMER_PREFIX + _transformer_name(key): value for key, value in transformer.items()}
    tensors |= {VAE_PREFIX + _vae_name(key, down_blocks): value for key, value in vae.items()}
    tensors |= {VAE_PREFIX + STATISTICS_PREFIX + name: value for name, value in statistics.items()}
    configs = {
        "transformer": _transformer_config(transformer_config),
        "vae": _vae_config(vae_config),
        "scheduler": {"_class_name": "RectifiedFlowScheduler", "num_train_timesteps": 1000, "sampler": "Uniform"},
    }
    file.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, file, {"config": json.dumps(configs)})
    return file


def _transformer_name(key: str) -> str:
    for pattern, name in TRANSFORMER_NAMES:
        key = re.sub(pattern, name, key)
    return key


def _vae_name(key: str, down_blocks: int) -> str:
    """Lightricks list each side's stages in one `ModuleList`: a block's resnets and its resampler are two entries,
    the encoder's mid block is its last entry and the decoder's its first; the decoder's own time embedding and
    scale-shift table are its `last_` ones (the resnets' tables keep their name)."""
    side, _, rest = key.partition(".")
    if match := re.match(r"down_blocks\.(\d+)\.downsamplers\.0\.", rest):
        rest = f"down_blocks.{2 * int(match[1]) + 1}.{rest[match.end() :]}"
    elif match := re.match(r"down_blocks\.(\d+)\.", rest):
        rest = f"down_blocks.{2 * int(match[1])}.{rest[match.end() :]}"
    elif side == "encoder" and rest.startswith("mid_block."):
        rest = f"down_blocks.{2 * down_blocks}.{rest.removeprefix('mid_block.')}"
    elif side == "decoder" and rest.startswith("mid_block."):
        rest = f"up_blocks.0.{rest.removeprefix('mid_block.')}"
    elif match := re.match(r"up_blocks\.(\d+)\.upsamplers\.0\.", rest):
        rest = f"up_blocks.{2 * int(match[1]) + 1}.{rest[match.end() :]}"
    elif match := re.match(r"up_blocks\.(\d+)\.", rest):
        rest = f"up_blocks.{2 * int(match[1]) + 2}.{rest[match.end() :]}"
    elif rest.startswith(("time_embedder.", "scale_shift_table")):
        rest = f"last_{rest}"
    return f"{side}.{rest.replace('resnets.', 'res_blocks.')}"


def _statistics(mean: torch.Tensor, std: torch.Tensor) -> dict[str, torch.Tensor]:
    """The latent statistics a real VAE carries per channel; diffusers keeps the mean and the std of the means (its
    `latents_mean` and `latents_std`) and drops the others. The tiny model's latents have no measured spread: 1."""
    spread = torch.ones_like(std)
    return {
        "channel": torch.arange(len(mean), dtype=mean.dtype),
        "mean-of-means": mean,
        "std-of-means": std,
        "mean-of-stds": spread,
        "mean-of-stds_over_std-of-means": spread / std,
    }


def _transformer_config(config: dict) -> dict:
    """Lightricks' `Transformer3DModel` config of the same model (RMS norms, RoPE, the causal frame positions that
    diffusers' condition pipeline always uses)."""
    shared = (
        "num_attention_heads", "attention_head_dim", "in_channels", "out_channels", "num_layers",
        "cross_attention_dim", "caption_channels", "attention_bias", "activation_fn", "norm_elementwise_affine",
        "norm_eps",
    )  # fmt: skip
    return {
        "_class_name": "Transformer3DModel",
        **{name: config[name] for name in shared},
        "adaptive_norm": "single_scale_shift",
        "standardization_norm": "rms_norm",
        "qk_norm": "rms_norm",
        "positional_embedding_type": "rope",
        "positional_embedding_theta": 10000.0,
        "positional_embedding_max_pos": [20, 2048, 2048],
        "timestep_scale_multiplier": 1000,
        "causal_temporal_positioning": True,
    }


def _vae_config(config: dict) -> dict:
    """Lightricks' `CausalVideoAutoencoder` config of the same VAE: its stages as (kind, parameters) lists, the
    encoder's widths as multipliers of its base width, the decoder's as the halvings of its upsamplers."""
    widths, layers = config["block_out_channels"], config["layers_per_block"]
    encoder = []
    for index, kind in enumerate(config["downsample_type"]):
        encoder.append(["res_x", {"num_layers": layers[index]}])
        encoder.append([DOWNSAMPLERS[kind], {"multiplier": widths[index + 1] // widths[index]}])
    encoder.append(["res_x", {"num_layers": layers[-1]}])
    decoder_layers, noise = config["decoder_layers_per_block"], config["decoder_inject_noise"]
    decoder = [["res_x", {"num_layers": decoder_layers[0], "inject_noise": noise[0]}]]
    for index, factor in enumerate(config["upsample_factor"]):
        decoder.append(["compress_all", {"residual": config["upsample_residual"][index], "multiplier": factor}])
        decoder.append(["res_x", {"num_layers": decoder_layers[index + 1], "inject_noise": noise[index + 1]}])
    return {
        "_class_name": "CausalVideoAutoencoder",
        "dims": 3,
        "in_channels": config["in_channels"],
        "out_channels": config["out_channels"],
        "latent_channels": config["latent_channels"],
        "encoder_blocks": encoder,
        "decoder_blocks": decoder,
        "encoder_base_channels": widths[0],
        "decoder_base_channels": config["decoder_block_out_channels"][0] // config["upsample_factor"][0],
        "scaling_factor": config["scaling_factor"],
        "norm_layer": "pixel_norm",
        "patch_size": config["patch_size"],
        "latent_log_var": "uniform",
        "use_quant_conv": False,
        "causal_decoder": config["decoder_causal"],
        "timestep_conditioning": config["timestep_conditioning"],
    }


def _config(folder: Path, name: str) -> dict:
    return json.loads((folder / name / "config.json").read_text())
