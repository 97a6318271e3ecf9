"""Which device the engine runs on, and how it is named in logs and on the page."""

from __future__ import annotations

import torch

from ..errors import InputError


def resolve_device(name: str) -> torch.device:
    """`auto`, `cpu`, `cuda` or one GPU of several, `cuda:N`."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    kind, _, index = name.partition(":")
    if kind not in ("cpu", "cuda") or (index and (kind == "cpu" or not index.isdigit())):
        raise InputError(f"device '{name}' is not known: use auto, cuda, cuda:N or cpu")
    if kind == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device {name} was asked for but no CUDA GPU is visible: check nvidia-smi, or use cpu")
    if index and int(index) >= torch.cuda.device_count():
        raise InputError(f"device {name} is not there: this machine has {torch.cuda.device_count()} GPUs")
    return torch.device(name)


def describe_device(device: torch.device) -> str:
    if device.type != "cuda":
        return "the CPU (no GPU: expect minutes per video)"
    properties = torch.cuda.get_device_properties(device)
    return f"{properties.name} ({properties.total_memory / 1024**3:.0f} GiB)"
