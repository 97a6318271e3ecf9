"""A LoRA into Wan's network: the transformer, and with two experts (2.2 A14B) the second as well, since a LoRA
given once is meant for the whole video, both halves of its schedule."""

from __future__ import annotations

from pathlib import Path

from diffusers import WanImageToVideoPipeline


def load_lora(pipe: WanImageToVideoPipeline, path: Path, adapter: str) -> None:
    pipe.load_lora_weights(str(path), adapter_name=adapter)
    if pipe.transformer_2 is not None:
        pipe.load_lora_weights(str(path), adapter_name=adapter, load_into_transformer_2=True)
