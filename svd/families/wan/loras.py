"""LoRAs into Wan's network. A request's LoRA goes into the transformer, and with two experts (2.2 A14B) into the
second as well, since a LoRA given once is meant for the whole video, both halves of its schedule. A distilled
entry's LoRAs are fused, each into the expert it was made for."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from diffusers import WanImageToVideoPipeline

from ...models.download import ProgressReport, fetch_hub_file
from ...models.entries import FusedLora, ModelSource


def load_lora(pipe: WanImageToVideoPipeline, path: Path, adapter: str) -> None:
    pipe.load_lora_weights(str(path), adapter_name=adapter)
    if pipe.transformer_2 is not None:
        pipe.load_lora_weights(str(path), adapter_name=adapter, load_into_transformer_2=True)


def fuse_distillation(pipe: WanImageToVideoPipeline, source: ModelSource, reporter: Callable[[str], ProgressReport]):
    """A distilled entry's LoRAs (its `FusedLora` files), downloaded if needed, fused into the experts they are made
    for, their adapters then removed: the network is the distilled one, and a request's own LoRAs go on top of it
    (and come off again) as on any model."""
    loras = source.files_of(FusedLora)
    for index, lora in enumerate(loras):
        path = fetch_hub_file(lora, reporter(f"{source.name}'s {lora.filename}"))
        adapter = f"distilled_{index}"
        pipe.load_lora_weights(str(path), adapter_name=adapter, load_into_transformer_2=lora.expert == "transformer_2")
        pipe.fuse_lora(components=[lora.expert], lora_scale=1.0, adapter_names=[adapter])
    if loras:
        pipe.unload_lora_weights()
