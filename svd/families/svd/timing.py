"""Per-stage timings of a diffusers pipeline call, taken with forward hooks on its models.

The hooks wrap the models' calls from outside, so diffusers' pipeline runs unchanged. On CUDA each measurement
synchronises the device so that the GPU's work, not just its launch, is counted (one sync per model call).
"""

from __future__ import annotations

import time
from collections import defaultdict

import torch
from diffusers import StableVideoDiffusionPipeline


class StageTimer:
    """Context manager that records how long each of the pipeline's models runs, call by call."""

    def __init__(self, pipe: StableVideoDiffusionPipeline, device: torch.device):
        self.device = device
        self.stages: dict[str, torch.nn.Module] = {
            "image_encoder": pipe.image_encoder,
            "vae_encode": pipe.vae.encoder,
            "unet": pipe.unet,
            "vae_decode": pipe.vae.decoder,
        }
        self.calls: dict[str, list[float]] = defaultdict(list)
        self._started: dict[str, float] = {}
        self._handles: list = []

    def __enter__(self) -> StageTimer:
        for name, module in self.stages.items():
            self._handles.append(module.register_forward_pre_hook(self._start_hook(name)))
            self._handles.append(module.register_forward_hook(self._stop_hook(name)))
        return self

    def __exit__(self, *exc_info) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def totals(self) -> dict[str, float]:
        return {name: sum(self.calls[name]) for name in self.stages if self.calls[name]}

    def _now(self) -> float:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return time.perf_counter()

    def _start_hook(self, name: str):
        def hook(module, args):
            self._started[name] = self._now()

        return hook

    def _stop_hook(self, name: str):
        def hook(module, args, output):
            self.calls[name].append(self._now() - self._started.pop(name))

        return hook
