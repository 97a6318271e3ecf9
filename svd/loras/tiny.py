"""Random LoRAs for a network, in the key layout diffusers' own LoRA saving writes (`transformer.<module>.lora_A
.weight`), to test LoRA loading on the tiny models where no real LoRA can be downloaded."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import save_file

TARGETS = ("attn1.to_q", "attn1.to_v", "attn2.to_k")
"""The layers a tiny LoRA changes: self-attention's query and value, and a cross-attention key."""


def save_random_lora(network: torch.nn.Module, path: Path, seed: int, rank: int = 2, scale: float = 1.0) -> Path:
    """A LoRA of `rank` on `network`'s layers named in `TARGETS`, drawn from `seed` (`scale`: its weights' size)."""
    generator = torch.Generator().manual_seed(seed)
    weights = {}
    for name, module in network.named_modules():
        if isinstance(module, torch.nn.Linear) and name.endswith(TARGETS):
            down = torch.randn(rank, module.in_features, generator=generator) * scale
            up = torch.randn(module.out_features, rank, generator=generator) * scale
            weights[f"transformer.{name}.lora_A.weight"] = down
            weights[f"transformer.{name}.lora_B.weight"] = up
    if not weights:
        raise ValueError(f"{type(network).__name__} has none of the layers {', '.join(TARGETS)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(weights, str(path))
    return path
