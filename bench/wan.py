"""Time a Wan generation and its peak GPU memory per memory profile, with a full-size architecture and random weights
(time and memory do not depend on weight values): diffusers' WanImageToVideoPipeline called as the engine calls it,
for a few steps (a step's time is the same at every step; the whole run is steps x that plus the encode and decode).
With `--speed`, each profile runs plain, then with the speed switches as the engine applies them (`SVD_SPEED`'s
form), `--repeats` times (a compiled run's first includes compiling), each with its frames' largest difference from
plain (the cache is lossy). The cache skips work by how little the first block's output changes between steps,
which random weights do not show: measure it with real weights (`--model`, a catalogue id or a folder). On a CPU it
runs the tiny architecture, to check the script.

    python bench/wan.py                                        # TI2V 5B, 121 frames at 1280x704, 3 steps
    python bench/wan.py --architecture wan2.1-i2v-14b-480p --size 832x480 --frames 81 --profiles balanced
    python bench/wan.py --architecture tiny-wan2.1 --size 64x48 --frames 5 --steps 2
    python bench/wan.py --model wan2.2-ti2v-5b --profiles full --steps 20 --speed cache=first_block
    python bench/wan.py --profiles full --speed compile_transformer,attention=flash --repeats 3
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
from diffusers import WanImageToVideoPipeline
from PIL import Image

from svd.errors import InputError
from svd.families.catalogue import resolve_model
from svd.families.loading import repository_files
from svd.families.timing import StageTimer
from svd.families.wan.tiny import ARCHITECTURES, build_random_pipeline
from svd.input.sizing import parse_size
from svd.models.download import cached_model_path, download_model
from svd.models.pipeline import load_pipeline
from svd.models.speed import (
    SpeedOptions,
    check_options,
    check_transformer_attention,
    is_compiled,
    parse_speed,
    speed_up_transformers,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1280x704")
    parser.add_argument("--frames", type=int, default=121)
    parser.add_argument("--architecture", choices=ARCHITECTURES, default="wan2.2-ti2v-5b")
    parser.add_argument("--model", help="real weights instead: a Wan catalogue id, Hub id or folder")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--profiles", default="full,balanced", help="comma-separated: full, balanced (model offload)")
    parser.add_argument("--speed", default="plain", type=parse_speed, help="speed switches, as SVD_SPEED takes them")
    parser.add_argument("--repeats", type=int, default=1, help="runs with the speed switches, after the plain one")
    args = parser.parse_args(argv)
    width, height = parse_size(args.size)
    cuda = torch.cuda.is_available()
    profiles = args.profiles.split(",") if cuda else ["cpu"]
    if args.speed.compile_transformer and len(profiles) > 1:
        parser.error("compiled blocks are not undone: give one profile (--profiles full) with compile_transformer")
    device = torch.device("cuda" if cuda else "cpu")
    pipe = build(args, torch.bfloat16 if cuda else torch.float32)
    picture = Image.fromarray(np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8))
    for profile in profiles:
        pipe.remove_all_hooks()
        if profile == "balanced":
            pipe.to("cpu")
            pipe.enable_model_cpu_offload(device=device)
        else:
            pipe.to(device)
        record, plain = run(pipe, picture, args, device, profile)
        print(json.dumps(record))
        if args.speed != SpeedOptions():
            sped_up(pipe, picture, args, device, profile, plain)
    return 0


def build(args, dtype: torch.dtype) -> WanImageToVideoPipeline:
    """The architecture with random weights, or `--model`'s real ones (downloaded if needed), in `dtype`."""
    if args.model is None:
        pipe = build_random_pipeline(args.architecture, device="cpu").to(dtype)
        pipe.set_progress_bar_config(disable=True)
        return pipe
    source = resolve_model(args.model)
    if source.defaults.family != "wan":
        raise SystemExit(f"error: {args.model} is not a Wan model")
    files = repository_files(source) if source.repo_id is not None else None
    folder = source.path or cached_model_path(source.repo_id, files) or download_model(source.repo_id, None, files)
    args.architecture = source.name
    return load_pipeline(WanImageToVideoPipeline, Path(folder), None, dtype, source.name, "Wan model")


def sped_up(pipe, picture: Image.Image, args, device: torch.device, profile: str, plain: np.ndarray) -> None:
    """The runs with the speed switches, then the switches taken off again where diffusers can (not compiling)."""
    transformers = (pipe.transformer, pipe.transformer_2)
    try:
        check_options(args.speed, profile, "transformer", "Wan")
        check_transformer_attention(args.speed.attention, device, False, "Wan")
        speed_up_transformers(transformers, args.speed)
    except InputError as error:
        print(json.dumps({"profile": profile, "speed": args.speed.describe(), "refused": str(error)}))
        return
    for _ in range(args.repeats):
        record, frames = run(pipe, picture, args, device, profile)
        difference = int(np.abs(frames.astype(int) - plain).max())
        print(json.dumps({**record, "speed": args.speed.describe(), "max_frame_difference": difference}))
    if not any(is_compiled(each) for each in transformers if each is not None):
        speed_up_transformers(transformers, SpeedOptions())


def run(pipe, picture: Image.Image, args, device: torch.device, profile: str) -> tuple[dict, np.ndarray]:
    """One generation: its wall time, each stage's and each step's time, and the peak memory; and its frames as
    bytes."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    stages = {"text_encoder": pipe.text_encoder, "image_encoder": pipe.image_encoder,
              "denoise": (pipe.transformer, pipe.transformer_2), "vae_decode": pipe.vae.decoder}  # fmt: skip
    started = time.perf_counter()
    with StageTimer(stages, device) as timer:
        frames = pipe(
            image=picture, prompt="a kite climbs over the dunes", height=picture.height, width=picture.width,
            num_frames=args.frames, num_inference_steps=args.steps, guidance_scale=5.0,
            generator=torch.Generator("cpu").manual_seed(0), output_type="np",
        ).frames[0]  # fmt: skip
    peak = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
    record = {
        "architecture": args.architecture, "profile": profile, "size": [picture.width, picture.height],
        "frames": args.frames, "steps": args.steps, "seconds": round(time.perf_counter() - started, 3),
        "stages": {name: round(seconds, 3) for name, seconds in timer.totals().items()},
        "denoise_calls": len(timer.calls["denoise"]), "peak_allocated_gib": peak and round(peak / 1024**3, 2),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
    }  # fmt: skip
    return record, (frames * 255).round().astype(np.uint8)


if __name__ == "__main__":
    sys.exit(main())
