"""Random-weight Depth-Anything models in the Hub repository's layout (config.json, preprocessor_config.json,
model.safetensors), loaded by the same code path as the real one.

- `tiny`: for tests; resizes to 56 px instead of 518 so a map takes milliseconds on a CPU.
- `small`: the Depth-Anything-V2-Small architecture (24.8 M parameters, 518 px), for GPU benchmarks.

Their maps are noise.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation, Dinov2Config

PROCESSOR = {
    "do_normalize": True,
    "do_pad": False,
    "do_rescale": True,
    "do_resize": True,
    "ensure_multiple_of": 14,
    "image_mean": [0.485, 0.456, 0.406],
    "image_processor_type": "DPTImageProcessor",
    "image_std": [0.229, 0.224, 0.225],
    "keep_aspect_ratio": True,
    "resample": 3,
    "rescale_factor": 1 / 255,
    "size": {"height": 518, "width": 518},
}
"""Depth-Anything-V2-Small's preprocessor_config.json."""

ARCHITECTURES: dict[str, dict] = {
    "tiny": dict(
        backbone=dict(hidden_size=32, num_hidden_layers=4, num_attention_heads=2, mlp_ratio=2, image_size=56),
        head=dict(reassemble_hidden_size=32, neck_hidden_sizes=[8, 16, 32, 32], fusion_hidden_size=16,
                  head_hidden_size=8),
        input_size=56,
    ),
    "small": dict(
        backbone=dict(hidden_size=384, num_hidden_layers=12, num_attention_heads=6, mlp_ratio=4, image_size=518),
        head=dict(reassemble_hidden_size=384, neck_hidden_sizes=[48, 96, 192, 384], fusion_hidden_size=64,
                  head_hidden_size=32),
        input_size=518,
    ),
}  # fmt: skip


def save_random_depth_model(folder: Path, architecture: str = "tiny", seed: int = 0) -> Path:
    """Write the random-weight model to `folder`."""
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {', '.join(ARCHITECTURES)}, not {architecture!r}")
    shape = ARCHITECTURES[architecture]
    layers = shape["backbone"]["num_hidden_layers"]
    torch.manual_seed(seed)
    backbone = Dinov2Config(
        **shape["backbone"],
        patch_size=14,
        out_indices=[layers * (index + 1) // 4 for index in range(4)],
        reshape_hidden_states=False,
    )
    config = DepthAnythingConfig(
        backbone_config=backbone, patch_size=14, reassemble_factors=[4, 2, 1, 0.5], **shape["head"]
    )
    model = DepthAnythingForDepthEstimation(config).eval()
    with torch.no_grad():
        model.head.conv3.bias.fill_(1.0)  # keeps the random map above the final ReLU, so it is not flat zero
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    size = shape["input_size"]
    processor = {**PROCESSOR, "size": {"height": size, "width": size}}
    (folder / "preprocessor_config.json").write_text(json.dumps(processor, indent=2) + "\n")
    return folder
