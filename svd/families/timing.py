"""Per-stage timings of a diffusers pipeline call, taken with forward hooks on its models. Every family names its
denoising network's stage `denoise`, whose calls are the steps.

The hooks wrap the models' calls from outside, so diffusers' pipeline runs unchanged. On CUDA each measurement
synchronises the device so that the GPU's work, not just its launch, is counted (one sync per model call).
"""

from __future__ import annotations

import time
from collections import defaultdict

import torch


class StageTimer:
    """Context manager that records how long each of the pipeline's models runs, call by call."""

    def __init__(self, stages: dict[str, torch.nn.Module | tuple[torch.nn.Module | None, ...] | None], device):
        """`stages`: the models to time, by stage name, one or several a stage (two experts both denoise); a model a
        pipeline lacks is None, and left out."""
        self.device = device
        grouped = {name: modules if isinstance(modules, tuple) else (modules,) for name, modules in stages.items()}
        self.stages = {name: [m for m in modules if m is not None] for name, modules in grouped.items()}
        self.calls: dict[str, list[float]] = defaultdict(list)
        """The seconds of each call, by stage; `denoise`'s are the steps (two experts add up to one list)."""
        self._started: dict[str, float] = {}
        self._handles: list = []

    def __enter__(self) -> StageTimer:
        for name, modules in self.stages.items():
            for module in modules:
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
