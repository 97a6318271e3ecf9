"""Time the camera guides alone (no model): each move rendered from a picture at a video size, median of repeats.

    python bench/guides.py                      # 1024x576, 25 frames, every move
    python bench/guides.py --size 512x288 --frames 14 --repeats 5

Orbits are given a synthetic depth map (a near centre on a far background), so no depth model is needed; the depth
model's own time is measured by `bench.py --camera orbit-left`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as `python bench/guides.py` from anywhere

import numpy as np
import torch
from PIL import Image

from svd.camera.guide import render_guide
from svd.camera.moves import MOVES, NO_CAMERA
from svd.sizing import parse_size

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "astronaut.jpg"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1024x576")
    parser.add_argument("--frames", type=int, default=25)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    width, height = parse_size(args.size) or (1024, 576)
    picture = Image.open(EXAMPLE).convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
    rows, cols = np.mgrid[0:height, 0:width]
    disparity = np.clip(1 - np.hypot(cols / width - 0.5, rows / height - 0.5) * 2, 0, 1).astype(np.float32)
    print(f"{width}x{height}, {args.frames} frames, {torch.get_num_threads()} torch threads; median of {args.repeats}")
    for move in MOVES:
        if move == NO_CAMERA:
            continue
        seconds = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            render_guide(picture, move, args.frames, disparity=disparity)
            seconds.append(time.perf_counter() - started)
        print(f"{move:<12} {statistics.median(seconds):6.2f} s  (min {min(seconds):.2f}, max {max(seconds):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
