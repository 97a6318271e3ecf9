"""RIFE frame interpolation (Practical-RIFE v4.25/4.26, MIT licence), written here from the published method: a coarse-
to-fine flow network (IFNet) estimates, for a time t between two frames, the flow from the new frame back to each of
them and a mask that blends the two warped frames. No package on PyPI loads RIFE's weights in plain PyTorch without
VapourSynth or Vulkan, so the network is this one module; its layer names follow the released `flownet.pkl`, so that
file (or the release zip that holds it) loads as it is.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..cancel import Cancel, stop_if_cancelled
from ..errors import ModelError
from .interpolate import interpolated_count
from .weights import WeightsFile

RIFE_WEIGHTS = {
    "rife-4.25": WeightsFile(
        name="rife-4.25",
        repo_id="r3gm/RIFE",
        revision="7ebada9b4387e6a599766e40816876ec500c93d0",
        filename="RIFEv4.25_0919.zip",
        sha256="e63d481b7ae5d4a4e6ad7ac5b410ff78f3bf7be3b51b2e38ca8152747abde5b4",
        title="Practical-RIFE 4.25 (hzwer), the release zip",
        licence="MIT",
        flops_per_pixel=0.0444e6,
    ),
}
DEFAULT_RIFE = "rife-4.25"

SCALES = (16, 8, 4, 2, 1)
"""Each block's downscaling, coarse to fine: the first sees the frames at 1/16, the last at full size."""
BLOCK_WIDTHS = (192, 128, 96, 64, 32)
PAD = 64
"""Frames are padded to a multiple of this: the coarsest block works at 1/16 and halves that twice more."""
PAIRS_PER_BATCH = 4


def _conv(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, stride, 1), nn.LeakyReLU(0.2, True))


class Head(nn.Module):
    """Per-frame features at full resolution, fed to every block beside the frames."""

    def __init__(self, channels: int):
        super().__init__()
        self.cnn0 = nn.Conv2d(3, 16, 3, 2, 1)
        self.cnn1 = nn.Conv2d(16, 16, 3, 1, 1)
        self.cnn2 = nn.Conv2d(16, 16, 3, 1, 1)
        self.cnn3 = nn.ConvTranspose2d(16, channels, 4, 2, 1)
        self.relu = nn.LeakyReLU(0.2, True)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        hidden = self.relu(self.cnn2(self.relu(self.cnn1(self.relu(self.cnn0(image))))))
        return self.cnn3(hidden)


class ResConv(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, 1, 1)
        self.beta = nn.Parameter(torch.ones((1, channels, 1, 1)))
        self.relu = nn.LeakyReLU(0.2, True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.conv(x) * self.beta + x)


class IFBlock(nn.Module):
    """One refinement at 1/scale: from its inputs (and the flow so far) a flow update (4 channels: to frame 0, to
    frame 1), the blend mask's logit and 8 channels of hidden state for the next block."""

    def __init__(self, in_channels: int, width: int):
        super().__init__()
        self.conv0 = nn.Sequential(_conv(in_channels, width // 2, 2), _conv(width // 2, width, 2))
        self.convblock = nn.Sequential(*(ResConv(width) for _ in range(8)))
        self.lastconv = nn.Sequential(nn.ConvTranspose2d(width, 4 * 13, 4, 2, 1), nn.PixelShuffle(2))

    def forward(self, x: torch.Tensor, flow: torch.Tensor | None, scale: int):
        x = F.interpolate(x, scale_factor=1 / scale, mode="bilinear", align_corners=False)
        if flow is not None:
            flow = F.interpolate(flow, scale_factor=1 / scale, mode="bilinear", align_corners=False) / scale
            x = torch.cat((x, flow), 1)
        out = self.lastconv(self.convblock(self.conv0(x)))
        out = F.interpolate(out, scale_factor=scale, mode="bilinear", align_corners=False)
        return out[:, :4] * scale, out[:, 4:5], out[:, 5:]


class IFNet(nn.Module):
    def __init__(self, feature_channels: int = 4):
        """`feature_channels`: the Head's output, 4 in RIFE 4.25 and 16 in 4.26 (told apart by the weights)."""
        super().__init__()
        first = 3 + 3 + 2 * feature_channels + 1  # both frames, their features, the time
        later = first + 1 + 8 + 4  # the same, warped, with the mask, the hidden state and the flow
        for index, width in enumerate(BLOCK_WIDTHS):
            setattr(self, f"block{index}", IFBlock(first if index == 0 else later, width))
        self.encode = Head(feature_channels)

    def forward(self, image0: torch.Tensor, image1: torch.Tensor, time: torch.Tensor) -> torch.Tensor:
        """The frame at `time` (one value per pair, in (0, 1)) between (N, 3, H, W) frames in [0, 1]; H and W are
        multiples of PAD."""
        times = time.view(-1, 1, 1, 1).expand(-1, 1, *image0.shape[2:]).to(image0.dtype)
        features0, features1 = self.encode(image0), self.encode(image1)
        warped0, warped1 = image0, image1
        flow = mask = hidden = None
        for index, scale in enumerate(SCALES):
            block = getattr(self, f"block{index}")
            if flow is None:
                flow, mask, hidden = block(torch.cat((image0, image1, features0, features1, times), 1), None, scale)
            else:
                warped_features = (warp(features0, flow[:, :2]), warp(features1, flow[:, 2:4]))
                inputs = torch.cat((warped0, warped1, *warped_features, times, mask, hidden), 1)
                update, mask, hidden = block(inputs, flow, scale)
                flow = flow + update
            warped0, warped1 = warp(image0, flow[:, :2]), warp(image1, flow[:, 2:4])
        weight = torch.sigmoid(mask)
        return warped0 * weight + warped1 * (1 - weight)


def warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """`image` sampled at each pixel's position plus `flow` (in pixels), bilinear, edges repeated."""
    _, _, height, width = image.shape
    ys = torch.linspace(-1.0, 1.0, height, device=image.device)
    xs = torch.linspace(-1.0, 1.0, width, device=image.device)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    flow = flow.float()
    x = grid_x + flow[:, 0] / ((width - 1) / 2)
    y = grid_y + flow[:, 1] / ((height - 1) / 2)
    grid = torch.stack((x, y), dim=-1)
    sampled = F.grid_sample(image.float(), grid, mode="bilinear", padding_mode="border", align_corners=True)
    return sampled.to(image.dtype)


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The flownet's tensors from `flownet.pkl`, or from the `*/flownet.pkl` inside a release zip, with the
    `module.` prefix of the training wrapper taken off. Loaded with `weights_only`, so no pickled code runs."""
    try:
        state = torch.load(_flownet(path), map_location="cpu", weights_only=True)
    except Exception as error:
        raise ModelError(f"{path} is not RIFE weights ({type(error).__name__})", "give a RIFE flownet.pkl") from None
    return {key.removeprefix("module."): value for key, value in state.items()}


def _flownet(path: Path) -> Path | io.BytesIO:
    """`path` itself, or the flownet.pkl inside it when it is a release zip (torch's own files are zips too)."""
    if not zipfile.is_zipfile(path):
        return path
    with zipfile.ZipFile(path) as archive:
        member = next((name for name in archive.namelist() if name.endswith("flownet.pkl")), None)
        return io.BytesIO(archive.read(member)) if member else path


def load_rife(path: Path, device: torch.device, dtype: torch.dtype) -> IFNet:
    state = read_state_dict(Path(path))
    if "encode.cnn3.weight" not in state:
        raise ModelError(f"{path} is not RIFE 4.25/4.26 weights", "give a Practical-RIFE 4.25 or 4.26 flownet.pkl")
    model = IFNet(feature_channels=state["encode.cnn3.weight"].shape[1])
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        reason = str(error).splitlines()[0]
        raise ModelError(f"{path} does not fit RIFE 4.25/4.26 ({reason})", "give a matching flownet.pkl") from None
    return model.to(device=device, dtype=dtype).eval()


def save_random_rife(path: Path, feature_channels: int = 4) -> Path:
    """Random weights in the released file's form (a pickled state dict with the `module.` prefix): the full-size
    network, for tests and benchmarks; its in-between frames are noise."""
    generator = torch.Generator().manual_seed(0)
    model = IFNet(feature_channels)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.02)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({f"module.{key}": value for key, value in model.state_dict().items()}, path)
    return path


@torch.no_grad()
def interpolate_frames(
    model: IFNet,
    frames: np.ndarray,
    factor: int,
    device: torch.device,
    dtype: torch.dtype,
    cancel: Cancel | None = None,
) -> np.ndarray:
    """(F - 1) * factor + 1 frames: between each pair, frames at t = 1/factor ... (factor-1)/factor; the given frames
    stay exactly as they were, at every factor-th place."""
    count, height, width, _ = frames.shape
    out = np.empty((interpolated_count(count, factor), height, width, 3), np.uint8)
    out[::factor] = frames
    pad = (0, -width % PAD, 0, -height % PAD)
    times = torch.arange(1, factor, device=device, dtype=torch.float32) / factor
    for start in range(0, count - 1, PAIRS_PER_BATCH):
        stop_if_cancelled(cancel, "the frames were interpolated")
        pairs = range(start, min(start + PAIRS_PER_BATCH, count - 1))
        batch = torch.from_numpy(frames[pairs.start : pairs.stop + 1]).to(device).permute(0, 3, 1, 2)
        batch = F.pad(batch.to(dtype) / 255, pad, mode="replicate")
        image0 = batch[:-1].repeat_interleave(factor - 1, 0)
        image1 = batch[1:].repeat_interleave(factor - 1, 0)
        middle = model(image0, image1, times.repeat(len(pairs)))[:, :, :height, :width]
        pixels = (middle.float().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
        for offset, pair in enumerate(pairs):
            slots = slice(pair * factor + 1, pair * factor + factor)
            out[slots] = pixels[offset * (factor - 1) : (offset + 1) * (factor - 1)]
    return out
