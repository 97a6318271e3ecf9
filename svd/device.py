"""Which device the engine runs on, and how it is named in logs and on the page."""

from __future__ import annotations

import torch

from .errors import InputError


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("device cuda was asked for but no CUDA GPU is visible: check nvidia-smi, or use device cpu")
    if name not in ("cpu", "cuda"):
        raise InputError(f"device '{name}' is not known: use auto, cuda or cpu")
    return torch.device(name)


def describe_device(device: torch.device) -> str:
    if device.type != "cuda":
        return "the CPU (no GPU: expect minutes per video)"
    properties = torch.cuda.get_device_properties(device)
    return f"{properties.name} ({properties.total_memory / 1024**3:.0f} GiB)"
