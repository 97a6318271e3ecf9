"""Exact speed-ups: switches that change how the pipeline runs, not what it computes (up to fp16 rounding).

Each one uses the library's own mechanism: PyTorch's SDPA backend selection, `torch.compile` (with CUDA graphs
through its `reduce-overhead` mode), channels-last weights, and diffusers' fused QKV projections. They are off by
default (no GPU has measured them for this project yet); `SVD_SPEED` or `--speed` turns them on, and
`bench/bench.py` measures each against the plain pipeline.
"""

from __future__ import annotations

import contextlib
import statistics
from dataclasses import dataclass, field, fields
from typing import Literal

import torch
from diffusers import StableVideoDiffusionPipeline
from diffusers.models.attention_processor import Attention, FusedAttnProcessor2_0
from torch.nn.attention import SDPBackend, sdpa_kernel

from ..errors import InputError

AttentionBackend = Literal["auto", "flash", "efficient", "cudnn", "math"]
SDPA_BACKENDS: dict[str, SDPBackend] = {
    "flash": SDPBackend.FLASH_ATTENTION,
    "efficient": SDPBackend.EFFICIENT_ATTENTION,
    "cudnn": SDPBackend.CUDNN_ATTENTION,
    "math": SDPBackend.MATH,
}
COMPILE_BACKEND = "inductor"
COMPILED_SIZES = 64
"""How many input sizes a compiled model keeps compiled at once (dynamo's default of 8 would fall back to eager)."""


@dataclass(frozen=True)
class SpeedOptions:
    attention: AttentionBackend = "auto"
    """Which SDPA kernel runs attention; `auto` lets PyTorch choose."""
    compile_unet: bool = False
    compile_vae: bool = False
    """`torch.compile` the UNet / the VAE decoder, once per input size (no recompiles for a size seen before)."""
    cuda_graphs: bool = False
    """Replay the compiled UNet as CUDA graphs (`torch.compile` mode `reduce-overhead`); needs `compile_unet`."""
    channels_last: bool = False
    fuse_qkv: bool = False
    decode_chunk_from_memory: bool = False
    """Decode as many frames at once as the GPU's free memory allows, instead of the profile's fixed chunk."""

    @property
    def compiles(self) -> bool:
        return self.compile_unet or self.compile_vae

    @property
    def compiled_stages(self) -> tuple[str, ...]:
        """The compiled parts, by their names in `svd.families.timing.StageTimer`."""
        return ("denoise",) * self.compile_unet + ("vae_decode",) * self.compile_vae

    def describe(self) -> str:
        """The options in the form `parse_speed` reads: `plain`, or e.g. `attention=flash+compile_unet`."""
        names = [f"attention={self.attention}"] if self.attention != "auto" else []
        names += [flag for flag in SWITCHES if getattr(self, flag)]
        return "+".join(names) or "plain"


SWITCHES = tuple(option.name for option in fields(SpeedOptions) if option.type == "bool")


def parse_speed(text: str) -> SpeedOptions:
    """`SVD_SPEED` / `--speed`: `plain` (or empty), or switches joined by commas or `+`, such as
    `compile_unet,fuse_qkv,attention=flash`."""
    chosen: dict[str, str | bool] = {}
    for part in text.replace("+", ",").split(","):
        name, _, value = part.strip().partition("=")
        if name in ("", "plain"):
            continue
        if name == "attention" and value in ("auto", *SDPA_BACKENDS):
            chosen["attention"] = value
        elif name in SWITCHES and not value:
            chosen[name] = True
        else:
            raise InputError(
                f"speed switch '{part.strip()}' is not known",
                f"use plain, or any of {', '.join(SWITCHES)} and attention=<{'|'.join(SDPA_BACKENDS)}>",
            )
    return SpeedOptions(**chosen)  # type: ignore[arg-type]


def check_options(options: SpeedOptions, profile: str) -> None:
    if options.compiles and profile not in ("full", "cpu"):
        raise InputError(
            f"torch.compile needs the 'full' memory profile, not '{profile}': offloading moves the models"
        )
    if options.cuda_graphs and not options.compile_unet:
        raise InputError("CUDA graphs come with compiling the UNet: turn on compile_unet too")
    if options.attention not in ("auto", *SDPA_BACKENDS):
        raise InputError(f"attention '{options.attention}' is not known: use auto, {', '.join(SDPA_BACKENDS)}")


@dataclass
class CompiledShapes:
    """The input shapes a loaded model's compiled parts have run at, and how long the last new one took to compile,
    measured as the first call of each compiled part beyond its usual time. Compiling is paid once per shape and
    process, so the page warns before a run at a shape not seen yet."""

    seen: set[tuple] = field(default_factory=set)
    last_seconds: float | None = None

    @property
    def note(self) -> str:
        """What the page and the command line say before a run at a shape not seen yet."""
        if self.last_seconds is None:
            return "first run at this size compiles (once per size while the server runs)"
        return f"first run at this size compiles: about {self.last_seconds:.0f} s"

    def record(self, shape: tuple, calls: dict[str, list[float]]) -> None:
        """`calls`: the compiled parts' call times (seconds) in the run that compiled them for `shape`."""
        self.seen.add(shape)
        extra = [times[0] - statistics.median(times[1:]) for times in calls.values() if len(times) > 1]
        if extra:
            self.last_seconds = max(0.0, sum(extra))


def apply_options(pipe: StableVideoDiffusionPipeline, options: SpeedOptions) -> None:
    """Apply the switches to a pipeline freshly placed on its device (each is applied once per loaded model)."""
    if options.fuse_qkv:
        _fuse_qkv_projections(pipe.unet)
    if options.channels_last:
        _to_channels_last(pipe.unet)
        _to_channels_last(pipe.vae)
    if options.compiles:
        torch._dynamo.config.cache_size_limit = max(torch._dynamo.config.cache_size_limit, COMPILED_SIZES)
    if options.compile_unet:
        mode = "reduce-overhead" if options.cuda_graphs else "max-autotune-no-cudagraphs"
        pipe.unet = torch.compile(pipe.unet, backend=COMPILE_BACKEND, mode=_mode(mode), dynamic=False, fullgraph=True)
    if options.compile_vae:
        pipe.vae.decoder = torch.compile(pipe.vae.decoder, backend=COMPILE_BACKEND, dynamic=False)


def attention_context(options: SpeedOptions) -> contextlib.AbstractContextManager:
    """The context the pipeline call runs in: the chosen SDPA backend, or PyTorch's own choice."""
    if options.attention == "auto":
        return contextlib.nullcontext()
    return sdpa_kernel(SDPA_BACKENDS[options.attention])


def _fuse_qkv_projections(unet: torch.nn.Module) -> None:
    """What `UNet2DConditionModel.fuse_qkv_projections` does; the SVD UNet's inherited version skips its
    attention modules (diffusers' `Attention` class), so it is done here the same way."""
    for module in unet.modules():
        if isinstance(module, Attention):
            module.fuse_projections(fuse=True)
    unet.set_attn_processor(FusedAttnProcessor2_0())


def _to_channels_last(module: torch.nn.Module) -> None:
    """`Module.to(memory_format=channels_last)` refuses SVD's 3D (temporal) convolutions; lay out each kind its own
    way: 2D convolution weights channels-last, 3D ones channels-last-3d."""
    formats = {4: torch.channels_last, 5: torch.channels_last_3d}
    for parameter in module.parameters():
        if parameter.dim() in formats:
            parameter.data = parameter.data.contiguous(memory_format=formats[parameter.dim()])


def _mode(mode: str) -> str | None:
    """Compile modes are inductor's; other backends (used by the CPU tests) take none."""
    return mode if COMPILE_BACKEND == "inductor" else None
