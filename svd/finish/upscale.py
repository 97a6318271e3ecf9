"""Upscaling with a Real-ESRGAN-family network that spandrel loads from a weights file, in tiles so that the largest
frames fit on a 24 GB card, then a Lanczos resize to the exact size asked for (x2 from a x4 network, 1920x1080)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from spandrel import ImageModelDescriptor, ModelLoader, UnsupportedModelError
from spandrel.architectures.Compact import Compact
from spandrel.architectures.ESRGAN import ESRGAN

from ..errors import ModelError
from ..media.frames import Frames, LazyFrames
from .weights import WeightsFile

_RELEASES = dict(repo_id="leonelhs/realesrgan", revision="6907f85a9095e201ec4b3c7e91bbb66cdec0f04d", licence="BSD-3")
"""A Hub copy of xinntao's Real-ESRGAN releases (which live on GitHub); the SHA-256s are the GitHub files'."""

UPSCALERS = {
    "realesr-general-x4v3": WeightsFile(
        name="realesr-general-x4v3",
        filename="realesr-general-x4v3.pth",
        sha256="8dc7edb9ac80ccdc30c3a5dca6616509367f05fbc184ad95b731f05bece96292",
        title="Real-ESRGAN general x4 v3: compact and fast (1.2 M parameters)",
        flops_per_pixel=2.42e6,
        **_RELEASES,
    ),
    "realesrgan-x4": WeightsFile(
        name="realesrgan-x4",
        filename="RealESRGAN_x4plus.pth",
        sha256="4fa0d38905f75ac06eb49a7951b426670021be3018265fd191d2125df9d682f1",
        title="Real-ESRGAN x4plus: the high-quality RRDB network (16.7 M parameters), several times slower",
        flops_per_pixel=35.9e6,
        **_RELEASES,
    ),
}
DEFAULT_UPSCALER = "realesr-general-x4v3"

UPSCALE_STAGE = "finish_upscale"
TILE = 512
"""Input pixels per tile side: at x4 in fp16 the largest network's activations for one tile stay near 2 GB."""
TILE_OVERLAP = 32
"""Each tile sees this many pixels of its neighbours, which are cut away again, so no seams show."""


def load_upscaler(path: Path, device: torch.device, dtype: torch.dtype) -> ImageModelDescriptor:
    try:
        model = ModelLoader().load_from_file(str(path))
    except FileNotFoundError:
        raise ModelError(f"the upscaler weights file {path} does not exist", "give a Real-ESRGAN .pth file") from None
    except (UnsupportedModelError, ValueError, RuntimeError, KeyError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ModelError(
            f"{path} is not upscaler weights spandrel knows ({reason})", "give a Real-ESRGAN .pth"
        ) from None
    if not isinstance(model, ImageModelDescriptor) or model.scale < 2:
        raise ModelError(f"{path} is not a super-resolution model", "give a x2 or x4 Real-ESRGAN .pth file")
    if dtype == torch.float16 and not model.supports_half:
        dtype = torch.float32
    return model.to(device=device, dtype=dtype).eval()


def save_random_upscaler(path: Path, kind: str = "compact", full: bool = False) -> Path:
    """Random weights in the release files' form (`{"params": state_dict}`, or `params_ema` for RRDB): the compact
    network of realesr-general-x4v3 or the RRDB of RealESRGAN_x4plus, full size (`full`, for benchmarks) or tiny."""
    torch.manual_seed(0)
    if kind == "compact":
        network = Compact(num_feat=64, num_conv=32) if full else Compact(num_feat=8, num_conv=2)
        key = "params"
    elif kind == "rrdb":
        network = ESRGAN(num_filters=64, num_blocks=23) if full else ESRGAN(num_filters=8, num_blocks=1)
        key = "params_ema"
    else:
        raise ValueError(f"unknown upscaler kind {kind}")
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({key: network.state_dict()}, path)
    return path


def upscale_frames(model: ImageModelDescriptor, frames: Frames, size: tuple[int, int]) -> LazyFrames:
    """`frames` at exactly `size` (width, height): the network's own scale in tiles, then Lanczos. Each frame is
    upscaled when it is read, so the upscaled video is never in memory whole."""
    width, height = size

    def frame(index: int) -> np.ndarray:
        upscaled = _upscale_tiled(model, frames[index])
        if upscaled.shape[:2] != (height, width):
            upscaled = np.asarray(Image.fromarray(upscaled).resize(size, Image.Resampling.LANCZOS))
        return upscaled

    return LazyFrames(len(frames), height, width, frame, UPSCALE_STAGE, frames)


@torch.no_grad()
def _upscale_tiled(model: ImageModelDescriptor, frame: np.ndarray) -> np.ndarray:
    scale = model.scale
    height, width, _ = frame.shape
    image = torch.from_numpy(frame).to(model.device).permute(2, 0, 1)[None].to(model.dtype) / 255
    out = torch.empty((3, height * scale, width * scale), dtype=torch.uint8, device=model.device)
    for top in range(0, height, TILE):
        for left in range(0, width, TILE):
            bottom, right = min(top + TILE, height), min(left + TILE, width)
            y0, x0 = max(top - TILE_OVERLAP, 0), max(left - TILE_OVERLAP, 0)
            y1, x1 = min(bottom + TILE_OVERLAP, height), min(right + TILE_OVERLAP, width)
            tile = model(image[:, :, y0:y1, x0:x1])[0]
            keep = tile[:, (top - y0) * scale : (bottom - y0) * scale, (left - x0) * scale : (right - x0) * scale]
            pixels = (keep.float().clamp(0, 1) * 255).round().to(torch.uint8)
            out[:, top * scale : bottom * scale, left * scale : right * scale] = pixels
    return out.permute(1, 2, 0).cpu().numpy()
