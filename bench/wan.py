"""Time a Wan generation and its peak GPU memory per memory profile, with a full-size architecture and random weights
(time and memory do not depend on weight values): diffusers' WanImageToVideoPipeline called as the engine calls it,
for a few steps (a step's time is the same at every step; the whole run is steps x that plus the encode and decode).
On a CPU it runs the tiny architecture, to check the script.

    python bench/wan.py                                        # TI2V 5B, 121 frames at 1280x704, 3 steps
    python bench/wan.py --architecture wan2.1-i2v-14b-480p --size 832x480 --frames 81 --profiles balanced
    python bench/wan.py --architecture tiny-wan2.1 --size 64x48 --frames 5 --steps 2
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as `python bench/wan.py`

import numpy as np
import torch
from PIL import Image

from svd.families.timing import StageTimer
from svd.families.wan.tiny import ARCHITECTURES, build_random_pipeline
from svd.input.sizing import parse_size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1280x704")
    parser.add_argument("--frames", type=int, default=121)
    parser.add_argument("--architecture", choices=ARCHITECTURES, default="wan2.2-ti2v-5b")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--profiles", default="full,balanced", help="comma-separated: full, balanced (model offload)")
    args = parser.parse_args(argv)
    width, height = parse_size(args.size)
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    pipe = build_random_pipeline(args.architecture, device="cpu").to(torch.bfloat16 if cuda else torch.float32)
    pipe.set_progress_bar_config(disable=True)
    picture = Image.fromarray(np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8))
    for profile in args.profiles.split(",") if cuda else ["cpu"]:
        pipe.remove_all_hooks()
        if profile == "balanced":
            pipe.to("cpu")
            pipe.enable_model_cpu_offload(device=device)
        else:
            pipe.to(device)
        print(json.dumps(run(pipe, picture, args, device, profile)))
    return 0


def run(pipe, picture: Image.Image, args, device: torch.device, profile: str) -> dict:
    """One generation: its wall time, each stage's and each step's time, and the peak memory."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    stages = {"text_encoder": pipe.text_encoder, "image_encoder": pipe.image_encoder,
              "denoise": (pipe.transformer, pipe.transformer_2), "vae_decode": pipe.vae.decoder}  # fmt: skip
    started = time.perf_counter()
    with StageTimer(stages, device) as timer:
        pipe(
            image=picture, prompt="a kite climbs over the dunes", height=picture.height, width=picture.width,
            num_frames=args.frames, num_inference_steps=args.steps, guidance_scale=5.0,
            generator=torch.Generator("cpu").manual_seed(0), output_type="np",
        )  # fmt: skip
    peak = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
    return {
        "architecture": args.architecture, "profile": profile, "size": [picture.width, picture.height],
        "frames": args.frames, "steps": args.steps, "seconds": round(time.perf_counter() - started, 3),
        "stages": {name: round(seconds, 3) for name, seconds in timer.totals().items()},
        "denoise_calls": len(timer.calls["denoise"]), "peak_allocated_gib": peak and round(peak / 1024**3, 2),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
    }  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
