"""Exact speed-ups: switches that change how the pipeline runs, not what it computes (up to fp16 rounding).

Each one uses the library's own mechanism: PyTorch's SDPA backend selection, `torch.compile` (with CUDA graphs
through its `reduce-overhead` mode), channels-last weights, and diffusers' fused QKV projections. They are off by
default; `bench/bench.py` measures each against the plain pipeline.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Literal

import torch
from diffusers import StableVideoDiffusionPipeline
from diffusers.models.attention_processor import Attention, FusedAttnProcessor2_0
from torch.nn.attention import SDPBackend, sdpa_kernel

from .errors import InputError

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

    def describe(self) -> str:
        names = [f"attention={self.attention}"] if self.attention != "auto" else []
        flags = ("compile_unet", "compile_vae", "cuda_graphs", "channels_last", "fuse_qkv", "decode_chunk_from_memory")
        names += [flag for flag in flags if getattr(self, flag)]
        return "+".join(names) or "plain"


def check_options(options: SpeedOptions, profile: str) -> None:
    if options.compiles and profile not in ("full", "cpu"):
        raise InputError(
            f"torch.compile needs the 'full' memory profile, not '{profile}': offloading moves the models"
        )
    if options.cuda_graphs and not options.compile_unet:
        raise InputError("CUDA graphs come with compiling the UNet: turn on compile_unet too")
    if options.attention not in ("auto", *SDPA_BACKENDS):
        raise InputError(f"attention '{options.attention}' is not known: use auto, {', '.join(SDPA_BACKENDS)}")


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
