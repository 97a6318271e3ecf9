"""Time the camera guides alone (no model): each move rendered from a picture at a video size, median of repeats.

    python bench/guides.py                      # 1024x576, 25 frames, every move
    python bench/guides.py --size 512x288 --frames 14 --repeats 5

Orbits are given a synthetic depth map (a near centre on a far background), so no depth model is needed; the depth
model's own time is measured by `bench.py --camera orbit-left`.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as `python bench/guides.py` from anywhere

import numpy as np
from PIL import Image
from timer import heading, time_stage, timer_parser

from svd.camera.guide import render_guide
from svd.camera.moves import MOVES, NO_CAMERA
from svd.input.sizing import parse_size

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "astronaut.jpg"


def main(argv: list[str] | None = None) -> int:
    args = timer_parser(__doc__.splitlines()[0]).parse_args(argv)
    width, height = parse_size(args.size) or (1024, 576)
    picture = Image.open(EXAMPLE).convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
    rows, cols = np.mgrid[0:height, 0:width]
    disparity = np.clip(1 - np.hypot(cols / width - 0.5, rows / height - 0.5) * 2, 0, 1).astype(np.float32)
    print(heading(width, height, args.frames, args.repeats))
    for move in MOVES:
        if move == NO_CAMERA:
            continue
        time_stage(move, lambda move=move: render_guide(picture, move, args.frames, disparity=disparity), args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
