"""Time each finishing stage alone (no SVD model): a clip made by panning across an example picture goes through
interpolation (RIFE and ffmpeg's minterpolate), upscaling, the loops, the colour matching of extend, and every
format's encoder. Median of repeats, in seconds, one line per stage.

    python bench/finish.py                                   # 25 frames at 1024x576 on the CPU
    python bench/finish.py --device cuda --stages rife-x2,upscale-x2,upscale-1080p
    python bench/finish.py --size 256x144 --frames 4 --repeats 1

Time does not depend on weight values, so RIFE and the upscalers run with random weights in their published
architectures (the fast compact upscaler by default; --upscaler-kind rrdb for the quality one) unless --rife or
--upscaler name a weights file.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as `python bench/finish.py` from anywhere

import numpy as np
import torch
from PIL import Image
from timer import heading, time_stage, timer_parser

from svd.finish.colour import match_colours
from svd.finish.interpolate import minterpolate
from svd.finish.loop import boomerang, crossfade
from svd.finish.options import FORMATS, upscaled_size
from svd.finish.rife import interpolate_frames, load_rife, save_random_rife
from svd.finish.upscale import load_upscaler, save_random_upscaler, upscale_frames
from svd.input.sizing import parse_size
from svd.media.video import write_video
from svd.models.device import resolve_device

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "astronaut.jpg"


def panning_clip(width: int, height: int, count: int) -> np.ndarray:
    """The example picture, wider than the frame, seen through a window that slides right by 4 px a frame."""
    picture = Image.open(EXAMPLE).convert("RGB").resize((width + 4 * count, height), Image.Resampling.LANCZOS)
    pixels = np.asarray(picture)
    return np.stack([pixels[:, 4 * index : 4 * index + width] for index in range(count)])


def stages(args: argparse.Namespace, folder: Path) -> dict[str, Callable[[np.ndarray], object]]:
    device = resolve_device(args.device)
    dtype = torch.float16 if device.type == "cuda" else torch.float32
    rife = load_rife(args.rife or save_random_rife(folder / "flownet.pkl"), device, dtype)
    upscaler_file = args.upscaler or save_random_upscaler(folder / "upscaler.pth", args.upscaler_kind, full=True)
    upscaler = load_upscaler(upscaler_file, device, dtype)

    def upscale(choice: str) -> Callable[[np.ndarray], object]:
        return lambda frames: upscale_frames(upscaler, frames, upscaled_size(frames.shape[2], frames.shape[1], choice))

    timed: dict[str, Callable[[np.ndarray], object]] = {
        "rife-x2": lambda frames: interpolate_frames(rife, frames, 2, device, dtype),
        "rife-x4": lambda frames: interpolate_frames(rife, frames, 4, device, dtype),
        "minterpolate-x2": lambda frames: minterpolate(frames, 2, args.fps),
        "upscale-x2": upscale("2"),
        "upscale-1080p": upscale("1080p"),
        "boomerang": boomerang,
        "crossfade": lambda frames: crossfade(frames, args.fps),
        "colour-match": lambda frames: match_colours(frames, frames[0]),
    }
    for name in FORMATS:
        timed[f"encode-{name}"] = lambda frames, name=name: write_video(frames, folder / f"out-{name}", args.fps, name)
    return timed


def main(argv: list[str] | None = None) -> int:
    parser = timer_parser(__doc__.splitlines()[0])
    parser.add_argument("--fps", type=int, default=6)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    parser.add_argument("--stages", help="comma-separated stage names (default: all)")
    parser.add_argument("--rife", type=Path, help="a RIFE flownet file (default: random weights)")
    parser.add_argument("--upscaler", type=Path, help="an upscaler .pth file (default: random weights)")
    parser.add_argument("--upscaler-kind", default="compact", choices=("compact", "rrdb"))
    args = parser.parse_args(argv)
    width, height = parse_size(args.size) or (1024, 576)
    clip = panning_clip(width, height, args.frames)
    with tempfile.TemporaryDirectory() as folder:
        timed = stages(args, Path(folder))
        wanted = args.stages.split(",") if args.stages else list(timed)
        unknown = [name for name in wanted if name not in timed]
        if unknown:
            parser.error(f"unknown stages {', '.join(unknown)}; there are {', '.join(timed)}")
        print(heading(width, height, args.frames, args.repeats, args.device))
        for name in wanted:
            time_stage(name, lambda name=name: timed[name](clip), args.repeats, width=16)
    return 0


if __name__ == "__main__":
    sys.exit(main())
