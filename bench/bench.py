"""Benchmark of the real engine path: per-stage time, peak GPU memory and achieved TFLOP/s, per speed-up and profile.

    python bench/bench.py                    # full-size SVD-XT architecture with random weights, on the GPU
    python bench/bench.py --model svd-xt     # a real model (catalogue id, Hub id or folder)
    python bench/bench.py --tiny             # the tiny model, on the CPU: proves the harness works, times nothing
    python bench/bench.py --variants plain --camera orbit-left   # the cost and saving of a camera move

Each variant is a fresh `svd.engine.Engine` with its speed options and memory profile, loading the model from a
folder in diffusers layout, generating with a fixed seed and writing the MP4 through `svd.output.store`. After the
warm-up runs (which include any compilation), the median of the timed runs is reported per stage. Frames are
compared with the plain `full` variant's: exact speed-ups must differ only by rounding. Results go to a JSON-lines
file and a table on stdout.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import shlex
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as `python bench/bench.py` from anywhere

import numpy as np
import torch
from flops import StageFlops, count_stage_flops
from PIL import Image

from svd.camera.moves import MOVES, NO_CAMERA
from svd.camera.tiny_depth import save_random_depth_model
from svd.engine import Engine
from svd.errors import SvdError
from svd.families.catalogue import resolve_model
from svd.families.svd.consistency import ConsistencySVDScheduler
from svd.families.svd.tiny import save_random_model
from svd.input.image import InputImage
from svd.input.sizing import parse_size
from svd.logs import setup_logging
from svd.models.download import cached_model_path, download_model
from svd.models.speed import SpeedOptions
from svd.output.store import save_generation, versions
from svd.request import GenerationRequest
from svd.results import GenerationResult


@dataclass(frozen=True)
class Variant:
    name: str
    profile: str
    options: SpeedOptions
    request: dict = field(default_factory=dict)
    """What the variant asks for beyond the common request (Turbo's steps and guidance, variations)."""
    turbo: bool = False
    """Sample with the consistency sampler: with random weights a Turbo model is the base architecture with another
    sampler, so only the sampler changes (lossy: its frames are not compared with plain's)."""


TURBO = {"num_inference_steps": 4, "min_guidance_scale": 1.0, "max_guidance_scale": 1.0}


VARIANTS = {
    variant.name: variant
    for variant in (
        Variant("plain", "full", SpeedOptions()),
        Variant("balanced", "balanced", SpeedOptions()),
        Variant("low", "low", SpeedOptions()),
        Variant("attention-flash", "full", SpeedOptions(attention="flash")),
        Variant("attention-efficient", "full", SpeedOptions(attention="efficient")),
        Variant("attention-cudnn", "full", SpeedOptions(attention="cudnn")),
        Variant("attention-math", "full", SpeedOptions(attention="math")),
        Variant("channels-last", "full", SpeedOptions(channels_last=True)),
        Variant("fuse-qkv", "full", SpeedOptions(fuse_qkv=True)),
        Variant("decode-chunk-fit", "full", SpeedOptions(decode_chunk_from_memory=True)),
        Variant("compile", "full", SpeedOptions(compile_unet=True)),
        Variant("compile-vae", "full", SpeedOptions(compile_unet=True, compile_vae=True)),
        Variant("cuda-graphs", "full", SpeedOptions(compile_unet=True, cuda_graphs=True)),
        Variant(
            "all-exact",
            "full",
            SpeedOptions(compile_unet=True, compile_vae=True, cuda_graphs=True, fuse_qkv=True, channels_last=True),
        ),
        Variant("variations-4", "full", SpeedOptions(), {"variations": 4}),
        Variant("turbo", "full", SpeedOptions(), TURBO, turbo=True),
        Variant("turbo-variations-4", "full", SpeedOptions(), {**TURBO, "variations": 4}, turbo=True),
    )
}
GPU_DEFAULT = list(VARIANTS)
CPU_DEFAULT = ["plain", "attention-math", "channels-last", "fuse-qkv"]
STAGES = ("image_encoder", "vae_encode", "unet_step", "denoise", "vae_decode", "video_encode", "end_to_end")
CAMERA_STAGES = {"camera_depth", "camera_guide", "camera_encode"}
"""Present when the request has a camera move: depth estimation (orbits), guide rendering, guide VAE encode."""


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="svd-bench-"))
    model = args.model or str(random_model(workdir, "tiny" if args.tiny else "svd-xt", device))
    source = resolve_model(model)
    defaults = source.defaults
    width, height = parse_size(args.size) or (defaults.width, defaults.height)
    frames = args.frames or defaults.num_frames
    steps = args.steps or defaults.num_inference_steps
    folder = source.path or cached_model_path(source.repo_id) or download_model(source.repo_id)
    names = args.variants.split(",") if args.variants else (GPU_DEFAULT if device == "cuda" else CPU_DEFAULT)
    unknown = [name for name in names if name not in VARIANTS]
    if unknown:
        raise SystemExit(f"error: unknown variants {', '.join(unknown)}: choose from {', '.join(VARIANTS)}")

    picture = test_picture(width, height)
    request = dict(num_frames=frames, num_inference_steps=steps, size=(width, height), seed=args.seed)
    if args.camera != NO_CAMERA:
        depth = args.depth_model or str(random_depth_model(workdir, "tiny" if args.tiny else "small"))
        request.update(camera=args.camera, camera_strength=args.camera_strength, depth_model=depth)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    reference: np.ndarray | None = None
    rows = []
    for name in names:
        variant = VARIANTS[name]
        asked = {**request, **variant.request}
        guided = asked.get("max_guidance_scale", defaults.max_guidance_scale) > 1
        flops = count_stage_flops(folder, width, height, frames, asked["num_inference_steps"], guidance=guided)
        row = run_variant(variant, model, device, picture, asked, flops, args, workdir)
        frames_made = row.pop("frames", None)
        if name == "plain" and frames_made is not None:
            reference = frames_made
        if reference is not None and frames_made is not None and "error" not in row and not variant.turbo:
            row["deviation"] = deviation(frames_made, reference)
        row.update(
            model=model, width=width, height=height, num_frames=frames, steps=asked["num_inference_steps"],
            flops=flops.as_dict(),
            camera=args.camera, camera_strength=row.pop("camera_strength", None),
            device=describe_device(device), versions=versions(), command=shlex.join(["python", *sys.argv]),
        )  # fmt: skip
        with out.open("a") as results:
            results.write(json.dumps(row) + "\n")
        rows.append(row)
        print(f"{name}: done", file=sys.stderr)
    print_table(rows, device, model, width, height, frames, steps)
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="the tiny random model (a smoke test of the harness)")
    parser.add_argument("--model", help="a real model instead of random weights: catalogue id, Hub id or folder")
    parser.add_argument("--size", default="auto", help="WxH (default: the model's native size)")
    parser.add_argument("--frames", type=int, help="default: the model's (25 for SVD-XT)")
    parser.add_argument("--steps", type=int, help="default: the model's (25)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs per variant (compilation happens here)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per variant; medians are reported")
    parser.add_argument("--variants", help=f"comma-separated, from: {', '.join(VARIANTS)}")
    parser.add_argument("--camera", default=NO_CAMERA, choices=list(MOVES), help="a camera move (default none)")
    parser.add_argument("--camera-strength", type=float, help="default: the move's")
    parser.add_argument("--depth-model", help="for orbits (default: random weights of Depth-Anything-V2-Small)")
    parser.add_argument("--workdir", help="where the random model and the videos go (reused between runs)")
    parser.add_argument("--out", default="bench/results.jsonl", help="JSON lines are appended here")
    return parser.parse_args(argv)


def random_model(workdir: Path, architecture: str, device: str) -> Path:
    """The random-weight model, saved once in diffusers layout (fp16 on a GPU) so the engine loads it like any."""
    folder = workdir / f"{architecture}-{device}"
    if not (folder / "model_index.json").exists():
        variant = "fp16" if device == "cuda" else None
        save_random_model(architecture, folder, variant=variant, device=device)
    return folder


def random_depth_model(workdir: Path, architecture: str) -> Path:
    folder = workdir / f"depth-{architecture}"
    if not (folder / "config.json").exists():
        save_random_depth_model(folder, architecture)
    return folder


def test_picture(width: int, height: int) -> InputImage:
    x, y = np.meshgrid(np.linspace(0, 1, width), np.linspace(0, 1, height))
    pixels = (np.stack([x, y, 1 - x], axis=2) * 255).astype(np.uint8)
    return InputImage(image=Image.fromarray(pixels), name="bench.png", sha256="0" * 64)


def run_variant(variant, model, device, picture, request, flops: StageFlops, args, workdir: Path) -> dict:
    row: dict = {"variant": variant.name, "profile": variant.profile, "options": asdict(variant.options)}
    engine = Engine(device=device, default_model=model, speed=variant.options)
    generation = GenerationRequest(image=picture, memory=variant.profile, **request)
    runs: list[tuple[GenerationResult, float]] = []
    try:
        if variant.turbo:
            engine.load().pipe.scheduler = ConsistencySVDScheduler()
        for index in range(args.warmup + args.repeats):
            results = engine.generate_videos(generation)
            started = time.perf_counter()
            for number, result in enumerate(results):
                save_generation(result, workdir / "videos" / f"{variant.name}-{index}-{number}")
            if index >= args.warmup:
                runs.append((results[0], time.perf_counter() - started))
    except SvdError as error:
        row["error"] = str(error)
        return row
    finally:
        del engine
        gc.collect()
        if device == "cuda":
            torch.cuda.empty_cache()
    row["medians"] = stage_medians(runs)
    row["videos"] = runs[0][0].settings.variations  # a batch's timings are the whole batch's, all its videos
    row["decode_chunk_size"] = runs[0][0].settings.decode_chunk_size
    row["camera_strength"] = runs[0][0].settings.camera_strength
    row["peak_vram_allocated"] = max((result.peak_vram_bytes or 0) for result, _ in runs) or None
    row["peak_vram_reserved"] = max((result.peak_vram_reserved_bytes or 0) for result, _ in runs) or None
    medians = row["medians"]
    videos = row["videos"]
    row["tflops_per_second"] = {
        "unet": videos * flops.unet_step / medians["unet_step"] / 1e12,
        "vae_decode": videos * flops.vae_decode / medians["vae_decode"] / 1e12,
        "end_to_end": videos * flops.total / medians["end_to_end"] / 1e12,
    }
    row["frames"] = runs[0][0].frames
    return row


def stage_medians(runs: list[tuple[GenerationResult, float]]) -> dict[str, float]:
    """Median seconds per stage over the timed runs; `unet_step` is the median over every step of every run."""
    per_stage: dict[str, list[float]] = {stage: [] for stage in STAGES}
    for result, video_seconds in runs:
        timings = result.timings
        per_stage["image_encoder"].append(timings["image_encoder"])
        per_stage["vae_encode"].append(timings["vae_encode"])
        per_stage["unet_step"].extend(result.step_seconds)
        per_stage["denoise"].append(timings["denoise"])
        per_stage["vae_decode"].append(timings["vae_decode"])
        per_stage["video_encode"].append(video_seconds)
        per_stage["end_to_end"].append(timings["pipeline"] + video_seconds)
        for stage in CAMERA_STAGES & timings.keys():
            per_stage.setdefault(stage, []).append(timings[stage])
    return {stage: statistics.median(values) for stage, values in per_stage.items()}


def deviation(frames: np.ndarray, reference: np.ndarray) -> dict:
    """How far a variant's frames are from the plain variant's (uint8 levels, and PSNR in dB)."""
    if frames.shape != reference.shape:
        return {"max_abs": None, "psnr_db": None}
    error = frames.astype(np.float64) - reference.astype(np.float64)
    mse = float(np.mean(error**2))
    return {"max_abs": int(np.abs(error).max()), "psnr_db": None if mse == 0 else 10 * np.log10(255.0**2 / mse)}


def describe_device(device: str) -> dict:
    if device != "cuda":
        return {"type": "cpu", "name": platform.processor() or platform.machine(), "threads": torch.get_num_threads()}
    properties = torch.cuda.get_device_properties(0)
    return {"type": "cuda", "name": properties.name, "memory_bytes": properties.total_memory}


def print_table(rows: list[dict], device: str, model: str, width: int, height: int, frames: int, steps: int) -> None:
    print(f"\n{model} at {width}x{height}, {frames} frames, {steps} steps, on {device}\n")
    header = f"{'variant':<20} {'end-to-end s':>12} {'UNet step s':>11} {'decode s':>9} {'MP4 s':>6} "
    header += f"{'peak alloc GiB':>14} {'reserved GiB':>12} {'UNet TFLOP/s':>12} {'max|Δ|':>7}"
    print(header)
    print("-" * len(header))
    for row in rows:
        if "error" in row:
            print(f"{row['variant']:<20} error: {row['error']}")
            continue
        medians, rates = row["medians"], row["tflops_per_second"]
        allocated = f"{row['peak_vram_allocated'] / 1024**3:.1f}" if row["peak_vram_allocated"] else "-"
        reserved = f"{row['peak_vram_reserved'] / 1024**3:.1f}" if row["peak_vram_reserved"] else "-"
        difference = row.get("deviation", {}).get("max_abs")
        print(
            f"{row['variant']:<20} {medians['end_to_end']:>12.2f} {medians['unet_step']:>11.3f} "
            f"{medians['vae_decode']:>9.2f} {medians['video_encode']:>6.2f} {allocated:>14} {reserved:>12} "
            f"{rates['unet']:>12.2f} {'-' if difference is None else difference:>7}"
        )


if __name__ == "__main__":
    sys.exit(main())
