"""Speed-ups: switches that change how the pipeline runs, each through the library's own mechanism, off by default
(no GPU has measured them for this project yet); `SVD_SPEED` or `--speed` turns them on.

Each switch is taken by one kind of denoiser, and a family refuses in one line the switches its denoiser does not take:
- SVD's UNet: PyTorch's SDPA backend selection, `torch.compile` (with CUDA graphs through its `reduce-overhead`
  mode), channels-last weights and diffusers' fused QKV projections; exact (up to fp16 rounding). `bench/bench.py`
  measures them.
- The flow-matching transformers (Wan, LTX-Video): diffusers' attention backends (`set_attention_backend`), its
  first-block cache hook (`enable_cache`; lossy: a step whose first block changed little reuses the other blocks'
  last residual) and regional `torch.compile` (`compile_repeated_blocks`). `bench/wan.py --speed` measures them.
"""

from __future__ import annotations

import contextlib
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Literal

import torch
from diffusers import StableVideoDiffusionPipeline, attention_backend
from diffusers.hooks import FirstBlockCacheConfig
from diffusers.models.attention_processor import Attention, FusedAttnProcessor2_0
from torch.nn.attention import SDPBackend, sdpa_kernel

from ..errors import InputError, first_line

AttentionBackend = Literal["auto", "native", "flash", "efficient", "cudnn", "math", "sage"]
SDPA_BACKENDS: dict[str, SDPBackend] = {
    "flash": SDPBackend.FLASH_ATTENTION,
    "efficient": SDPBackend.EFFICIENT_ATTENTION,
    "cudnn": SDPBackend.CUDNN_ATTENTION,
    "math": SDPBackend.MATH,
}
TRANSFORMER_BACKENDS: dict[str, str] = {
    "native": "native",
    "flash": "_native_flash",
    "efficient": "_native_efficient",
    "cudnn": "_native_cudnn",
    "math": "_native_math",
    "sage": "sage",
}
"""diffusers' attention backend behind each `attention=` value, for the transformers: PyTorch's SDPA (`native`, or
one of its kernels by the same names as SVD's), or SageAttention (8-bit, so not exact; needs `sageattention`)."""
CUDA_ONLY = ("efficient", "cudnn", "sage")
"""The backends that have no CPU kernel (measured: SDPA finds no viable kernel; Sage checks for a CUDA device)."""
UNMASKED_ONLY = ("flash", "sage")
"""The backends that refuse an attention mask (diffusers raises "`attn_mask` is not supported")."""
CacheMethod = Literal["none", "first_block"]
CACHES = {"first_block": FirstBlockCacheConfig}
"""Cache hooks by name, at diffusers' default threshold (0.05). MagCache is left out: it needs magnitude ratios
calibrated for each model and schedule, which diffusers ships only for Flux."""
Denoiser = Literal["unet", "transformer"]
UNET_SWITCHES = ("compile_unet", "compile_vae", "cuda_graphs", "channels_last", "fuse_qkv", "decode_chunk_from_memory")
TRANSFORMER_SWITCHES = ("compile_transformer", "cache")
ATTENTION_VALUES: dict[Denoiser, tuple[str, ...]] = {
    "unet": ("auto", *SDPA_BACKENDS),
    "transformer": ("auto", *TRANSFORMER_BACKENDS),
}
COMPILE_BACKEND = "inductor"
COMPILED_SIZES = 64
"""How many input sizes a compiled model keeps compiled at once (dynamo's default of 8 would fall back to eager)."""


@dataclass(frozen=True)
class SpeedOptions:
    attention: AttentionBackend = "auto"
    """Which attention kernel runs; `auto` lets PyTorch choose (SVD: an SDPA kernel; transformers: a diffusers
    backend, `TRANSFORMER_BACKENDS`)."""
    compile_unet: bool = False
    compile_vae: bool = False
    """`torch.compile` the UNet / the VAE decoder, once per input size (no recompiles for a size seen before)."""
    cuda_graphs: bool = False
    """Replay the compiled UNet as CUDA graphs (`torch.compile` mode `reduce-overhead`); needs `compile_unet`."""
    channels_last: bool = False
    fuse_qkv: bool = False
    decode_chunk_from_memory: bool = False
    """Decode as many frames at once as the GPU's free memory allows, instead of the profile's fixed chunk."""
    compile_transformer: bool = False
    """`torch.compile` each repeated block of the transformers (regional compile), once per input size."""
    cache: CacheMethod = "none"
    """A diffusers cache hook on the transformers (`CACHES`): steps reuse the blocks' last output (lossy)."""

    @property
    def compiles(self) -> bool:
        return self.compile_unet or self.compile_vae or self.compile_transformer

    @property
    def compiled_stages(self) -> tuple[str, ...]:
        """The compiled parts, by their names in `svd.families.timing.StageTimer`."""
        return ("denoise",) * (self.compile_unet or self.compile_transformer) + ("vae_decode",) * self.compile_vae

    @property
    def switched_on(self) -> list[str]:
        """Each switch that is on, as `parse_speed` reads it."""
        names = [f"attention={self.attention}"] if self.attention != "auto" else []
        names += [flag for flag in SWITCHES if getattr(self, flag)]
        return names + ([f"cache={self.cache}"] if self.cache != "none" else [])

    def describe(self) -> str:
        """The options in the form `parse_speed` reads: `plain`, or e.g. `attention=flash+compile_unet`."""
        return "+".join(self.switched_on) or "plain"


SWITCHES = tuple(option.name for option in fields(SpeedOptions) if option.type == "bool")


def parse_speed(text: str) -> SpeedOptions:
    """`SVD_SPEED` / `--speed`: `plain` (or empty), or switches joined by commas or `+`, such as
    `compile_unet,fuse_qkv,attention=flash` (SVD) or `compile_transformer,cache=first_block` (Wan, LTX-Video)."""
    chosen: dict[str, str | bool] = {}
    values = ("auto", *SDPA_BACKENDS, *TRANSFORMER_BACKENDS)
    for part in text.replace("+", ",").split(","):
        name, _, value = part.strip().partition("=")
        if name in ("", "plain"):
            continue
        if name == "attention" and value in values:
            chosen["attention"] = value
        elif name == "cache" and value in ("none", *CACHES):
            chosen["cache"] = value
        elif name in SWITCHES and not value:
            chosen[name] = True
        else:
            raise InputError(
                f"speed switch '{part.strip()}' is not known",
                f"use plain, or any of {', '.join(SWITCHES)}, attention=<{'|'.join(dict.fromkeys(values))}> and "
                f"cache=<{'|'.join(CACHES)}>",
            )
    return SpeedOptions(**chosen)  # type: ignore[arg-type]


def taken_by(denoiser: Denoiser) -> list[str]:
    """The switches a denoiser takes, as a refusal names them."""
    own = UNET_SWITCHES if denoiser == "unet" else ("compile_transformer", f"cache=<{'|'.join(CACHES)}>")
    return [f"attention=<{'|'.join(ATTENTION_VALUES[denoiser])}>", *own]


def check_options(
    options: SpeedOptions, profile: str, denoiser: Denoiser = "unet", title: str = "Stable Video Diffusion"
) -> None:
    """Refuse in one line what `title`'s denoiser cannot take, or cannot take with the memory `profile`."""
    others = TRANSFORMER_SWITCHES if denoiser == "unet" else UNET_SWITCHES
    refused = [name for name in options.switched_on if name.partition("=")[0] in others]
    if options.attention not in ATTENTION_VALUES[denoiser]:
        refused.insert(0, f"attention={options.attention}")
    if refused:
        raise InputError(
            f"{title} does not take the speed switch{'es' * (len(refused) > 1)} {', '.join(refused)}",
            f"it takes {', '.join(taken_by(denoiser))}; set SVD_SPEED (or --speed) to those only",
        )
    if options.compiles and profile not in ("full", "cpu"):
        raise InputError(
            f"torch.compile needs the 'full' memory profile, not '{profile}': offloading moves the models"
        )
    if options.cuda_graphs and not options.compile_unet:
        raise InputError("CUDA graphs come with compiling the UNet: turn on compile_unet too")


def check_transformer_attention(attention: str, device: torch.device, masked: bool, title: str) -> None:
    """Refuse in one line an attention backend that cannot run on `device`, or `title`'s masked attention."""
    if attention in CUDA_ONLY and device.type != "cuda":
        raise InputError(f"attention={attention} needs a CUDA GPU", "on this device use attention=native or math")
    if masked and attention in UNMASKED_ONLY:
        raise InputError(
            f"attention={attention} cannot run {title}: its attention to the prompt has a mask, which that kernel "
            "does not take",
            "use attention=native, efficient, cudnn or math",
        )


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
        _keep_compiled_sizes()
    if options.compile_unet:
        mode = "reduce-overhead" if options.cuda_graphs else "max-autotune-no-cudagraphs"
        pipe.unet = torch.compile(pipe.unet, backend=COMPILE_BACKEND, mode=_mode(mode), dynamic=False, fullgraph=True)
    if options.compile_vae:
        pipe.vae.decoder = torch.compile(pipe.vae.decoder, backend=COMPILE_BACKEND, dynamic=False)


def speed_up_transformers(transformers: Iterable[torch.nn.Module | None], options: SpeedOptions) -> None:
    """Set each transformer to the switches from whatever it had: its attention backend and cache hook (both undone
    through diffusers when asked off), and regional compile (never undone: `is_compiled`)."""
    for transformer in transformers:
        if transformer is None:
            continue
        _use_attention(transformer, options.attention)
        if transformer.is_cache_enabled and options.cache == "none":
            transformer.disable_cache()
        if options.cache != "none" and not transformer.is_cache_enabled:
            transformer.enable_cache(CACHES[options.cache]())
        if options.compile_transformer and not is_compiled(transformer):
            _keep_compiled_sizes()
            fullgraph = options.cache == "none"  # the cache hook's decision is a graph break
            transformer.compile_repeated_blocks(backend=COMPILE_BACKEND, dynamic=False, fullgraph=fullgraph)


def is_compiled(model: torch.nn.Module) -> bool:
    """Whether any part of `model` was compiled in place (`Module.compile`, as `compile_repeated_blocks` does)."""
    return any(getattr(module, "_compiled_call_impl", None) is not None for module in model.modules())


def _use_attention(transformer: torch.nn.Module, attention: str) -> None:
    """Pin the transformer's attention processors to the backend; diffusers also makes it the process's default
    backend, which the `attention_backend` context puts back, so other models keep theirs."""
    backend = TRANSFORMER_BACKENDS.get(attention)
    if backend is None:
        transformer.reset_attention_backend()
        return
    try:
        with attention_backend(backend):
            transformer.set_attention_backend(backend)
    except (RuntimeError, ValueError) as error:
        raise InputError(f"attention={attention} cannot run here", first_line(error)) from error


def attention_context(options: SpeedOptions) -> contextlib.AbstractContextManager:
    """The context SVD's pipeline call runs in: the chosen SDPA backend, or PyTorch's own choice."""
    if options.attention not in SDPA_BACKENDS:
        return contextlib.nullcontext()
    return sdpa_kernel(SDPA_BACKENDS[options.attention])


def _keep_compiled_sizes() -> None:
    torch._dynamo.config.cache_size_limit = max(torch._dynamo.config.cache_size_limit, COMPILED_SIZES)


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
