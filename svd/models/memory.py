"""Memory profiles: how much of the pipeline lives on the GPU, using diffusers' own offload and chunking.

- `full`: everything on the GPU (fastest).
- `balanced`: model CPU offload; each model moves to the GPU only while it runs.
- `low`: offload, plus UNet feed-forward chunking, plus a small VAE decode chunk; SVD-XT stays under 8 GB.
- `auto`: picks one of those from the GPU memory available to this process.

On a CPU the profiles do not apply: everything stays in RAM, and the placement is recorded as `cpu`.
"""

from __future__ import annotations

import gc
from typing import Literal

import torch
from diffusers import StableVideoDiffusionPipeline

from ..errors import InputError

Profile = Literal["full", "balanced", "low", "cpu"]
PROFILES: tuple[Profile, ...] = ("full", "balanced", "low")
CHOICES = ("auto", *PROFILES)
"""What a user may ask for; `cpu` is not a choice but what any choice becomes on a CPU."""

DECODE_CHUNK: dict[Profile, int] = {"full": 8, "balanced": 4, "low": 2, "cpu": 8}
"""Frames the VAE decodes at once by default. Fewer frames use less memory; 1 makes the video flicker."""

FULL_MIN_BYTES = 18 * 1024**3
BALANCED_MIN_BYTES = 10 * 1024**3
"""GPU memory `auto` needs before it picks `full` or `balanced`: a 24 GB card gets `full`, 12-16 GB `balanced`."""

LOWER_PROFILE: dict[Profile, Profile | None] = {"full": "balanced", "balanced": "low", "low": None, "cpu": None}

DECODE_BYTES_PER_PIXEL = 1007
"""Activation memory of the SVD VAE decoder per output pixel and frame, per byte of its dtype. Measured on a CPU:
decoding 1, 2 and 3 frames at 1024x576 with the full-size VAE in fp32 raised the peak memory by 2.27 GiB a frame."""


def check_profile(name: str) -> str:
    if name not in CHOICES:
        raise InputError(f"memory profile '{str(name)[:40]}' is not known", f"use one of {', '.join(CHOICES)}")
    return name


def available_gpu_bytes(device: torch.device) -> int:
    """Free GPU memory plus what this process's allocator already holds (and would reuse)."""
    free, _total = torch.cuda.mem_get_info(device)
    return free + torch.cuda.memory_reserved(device)


def usable_gpu_bytes(device: torch.device) -> int:
    """Memory this process can still fill without freeing anything: free, plus what its allocator holds unused."""
    free, _total = torch.cuda.mem_get_info(device)
    return free + torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)


def decode_chunk_for_memory(usable_bytes: int, width: int, height: int, num_frames: int, dtype: torch.dtype) -> int:
    """The most frames the VAE can decode at once within 80% of `usable_bytes` (at least 2: 1 flickers)."""
    per_frame = DECODE_BYTES_PER_PIXEL * (torch.finfo(dtype).bits // 8) * width * height
    return max(2, min(num_frames, int(usable_bytes * 0.8 // per_frame)))


def choose_profile(
    requested: str, device: torch.device, full_min: int = FULL_MIN_BYTES, balanced_min: int = BALANCED_MIN_BYTES
) -> Profile:
    """Resolve `auto` from the GPU's memory: `full` from `full_min` bytes available, `balanced` from `balanced_min`
    (SVD-XT's unless a model states its own). On a CPU every choice is `cpu`: everything stays in RAM."""
    check_profile(requested)
    if device.type != "cuda":
        return "cpu"
    if requested != "auto":
        return requested  # type: ignore[return-value]
    available = available_gpu_bytes(device)
    if available >= full_min:
        return "full"
    if available >= balanced_min:
        return "balanced"
    return "low"


def apply_profile(pipe: StableVideoDiffusionPipeline, profile: Profile, device: torch.device) -> None:
    """Place the pipeline's models for `profile`, undoing whatever the previous profile set up."""
    pipe.remove_all_hooks()
    _disable_forward_chunking(pipe.unet)
    if device.type != "cuda" or profile in ("full", "cpu"):
        pipe.to(device)
        return
    pipe.to("cpu")
    pipe.enable_model_cpu_offload(device=device)
    if profile == "low":
        pipe.unet.enable_forward_chunking()


def _disable_forward_chunking(unet: torch.nn.Module) -> None:
    """The SVD UNet has `enable_forward_chunking` but no way back; its transformer blocks take `None` to undo it."""
    for module in unet.modules():
        if hasattr(module, "set_chunk_feed_forward"):
            module.set_chunk_feed_forward(chunk_size=None, dim=0)


def out_of_memory_message(doing: str, size: tuple[int, int], num_frames: int, profile: str, decode_chunk: int) -> str:
    """What to try after running out of GPU memory: a lower profile, a smaller decode chunk, a smaller video."""
    lower = LOWER_PROFILE.get(profile)  # type: ignore[call-overload]
    advice = [f"the '{lower}' memory profile"] if lower else []
    if decode_chunk > 1:
        advice.append(f"a smaller decode chunk (now {decode_chunk})")
    advice.append("fewer frames or a smaller size")
    return (
        f"the GPU ran out of memory {doing} ({size[0]}x{size[1]}, {num_frames} frames, memory profile '{profile}'): "
        f"try {', or '.join(advice)}"
    )


def release_memory(device: torch.device) -> None:
    """Give back what freed tensors held: to Python, and on a GPU to the device."""
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
