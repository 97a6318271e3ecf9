"""The LoRA stage: before a run, the loaded pipeline's denoiser gets exactly the request's LoRAs at their strengths,
through diffusers' own adapters. A LoRA stays loaded while requests keep asking for it, so changing LoRAs never
reloads the model; one no longer asked for is deleted, and with none asked all are unloaded, which gives back the
network as it was before any LoRA."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

from diffusers import DiffusionPipeline

from ..errors import InputError
from ..request import LoraUse
from ..settings import Settings
from .library import find_lora


def adapter_name(use: LoraUse) -> str:
    """The adapter's name in the pipeline: its file's hash, so the same file under two names loads once."""
    return f"lora_{use.sha256[:16]}"


def put_loras(pipe: DiffusionPipeline, uses: tuple[LoraUse, ...], load, model: str) -> None:
    """Make `uses` the pipeline's only active LoRAs; `load(pipe, path, adapter)` is the family's LoRA loading."""
    if not hasattr(pipe, "load_lora_weights"):
        return  # a pipeline without LoRAs (resolution refuses them for its family)
    present = {name for names in pipe.get_list_adapters().values() for name in names}
    if not uses:
        if present:
            pipe.unload_lora_weights()
        return
    wanted = [adapter_name(use) for use in uses]
    stale = sorted(present - set(wanted))
    if stale:
        pipe.delete_adapters(stale)
    folder = Settings.from_env().loras_dir
    for use, adapter in zip(uses, wanted, strict=True):
        if adapter not in present:
            _load(pipe, find_lora(use.name, folder).path, adapter, load, use, model)
    pipe.set_adapters(wanted, [use.strength for use in uses])


def _load(pipe: DiffusionPipeline, path: Path, adapter: str, load, use: LoraUse, model: str) -> None:
    quiet = logging.getLogger("diffusers")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # it logs each layer that does not fit, which the one line below says
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Already found a `peft_config`")  # a second LoRA, as meant
            load(pipe, path, adapter)
    except (ValueError, RuntimeError, KeyError, AttributeError) as error:
        if any(adapter in names for names in pipe.get_list_adapters().values()):
            pipe.delete_adapters([adapter])
        raise InputError(
            f"LoRA {path.name} does not fit {model} ({type(error).__name__}: made for another model of its family?)",
            "choose a LoRA made for this model",
        ) from None
    finally:
        quiet.setLevel(level)
