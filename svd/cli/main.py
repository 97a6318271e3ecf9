"""Command line: `python -m svd generate|download|make-tiny`.

Bad input ends with exit code 2 and one line `error: ...` on stderr; results go to stdout, one path per video.
"""

from __future__ import annotations

import argparse
import logging
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import replace
from pathlib import Path

from PIL import Image
from tqdm import tqdm

from ..camera.depth import DEPTH_FILES, DEPTH_MODELS
from ..camera.moves import MOVES, NO_CAMERA
from ..errors import InputError, ModelError, SvdError, first_line
from ..families.catalogue import CATALOGUE, resolve_model
from ..families.loading import repository_files
from ..input.image import InputImage, load_image
from ..input.sizing import RESIZE_MODES, parse_size
from ..logs import setup_logging
from ..loras.library import parse_lora
from ..media.files import check_output_folder
from ..media.video import DEFAULT_CRF
from ..models.download import download_model, fetch_hub_file
from ..models.memory import CHOICES as MEMORY_CHOICES
from ..output.store import new_stem, safe_name, save_generations, timestamped_stem
from ..request import GenerationRequest
from ..results import GenerationResult, Progress
from ..serve.pool import EnginePool, engine_options
from ..settings import Settings
from .finish import add_finish_command, add_finish_options, finish_options
from .ray import add_ray_command
from .text import add_text_commands, add_text_options, picture_from_text
from .tiny import add_make_tiny_command

PLACEHOLDER = InputImage(Image.new("RGB", (64, 64)), name="prompt", sha256="")
"""Stands in for the picture that a prompt will make, to check the video's settings first."""
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
"""Files picked up from an input folder (a file named on the command line is tried whatever its suffix)."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line and exit code 2, like every other bad input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    settings = Settings.from_env()
    parser = _Parser(prog="python -m svd", description="Stable Video Diffusion: animate any picture into an MP4.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    generate = commands.add_parser("generate", help="animate pictures into MP4 videos")
    generate.add_argument("images", nargs="*", metavar="IMAGE", help="picture files or folders of pictures")
    generate.add_argument("-o", "--output", help="output stem (OUT gives OUT.mp4 and OUT.json); a folder for batches")
    generate.add_argument(
        "--model",
        default=settings.model,
        help=f"{', '.join(CATALOGUE)}, a Hub id or a model folder (default %(default)s)",
    )
    generate.add_argument("--frames", type=int, help="frames to generate (default: the model's, 25 for svd-xt)")
    generate.add_argument("--fps", type=int, help="frames per second; conditions the model and is the file's rate")
    generate.add_argument("--motion", type=int, help="motion bucket 1-255: more is more motion (default 127)")
    generate.add_argument("--noise-aug", type=float, help="noise added to the picture, 0-1 (default 0.02)")
    generate.add_argument("--steps", type=int, help="denoising steps (default: the model's, 25)")
    generate.add_argument("--min-cfg", type=float, help="guidance on the first frame (default: the model's, 1.0)")
    generate.add_argument(
        "--max-cfg", type=float, help="guidance on the last frame (default: the model's, 3.0; Turbo 1.0)"
    )
    generate.add_argument("--seed", type=int, help="random seed; omit or -1 for a random one (reported)")
    generate.add_argument(
        "--variations", type=int, default=1, help="videos with consecutive seeds, 1-8: OUT-1.mp4, OUT-2.mp4, ..."
    )
    generate.add_argument("--size", default="auto", help="auto (nearest aspect bucket) or WxH, snapped (default auto)")
    generate.add_argument("--resize", choices=RESIZE_MODES, default="crop", help="how the picture fills the size")
    generate.add_argument("--decode-chunk", type=int, help="frames the VAE decodes at once (default per profile)")
    generate.add_argument(
        "--memory", choices=MEMORY_CHOICES, default=settings.memory, help="GPU memory profile (default %(default)s)"
    )
    generate.add_argument(
        "--device", choices=("auto", "cuda", "cpu"), default=settings.device, help="default: the GPU if there is one"
    )
    generate.add_argument(
        "--speed",
        default=settings.speed,
        help="speed switches: plain, or switches joined by commas, e.g. compile_unet,fuse_qkv for SVD or "
        "cache=first_block for Wan and LTX-Video (default %(default)s; see svd/models/speed.py)",
    )
    generate.add_argument("--crf", type=int, default=DEFAULT_CRF, help="H.264 quality, 0-51, lower is better")
    generate.add_argument("--save-frames", action="store_true", help="also write the video's PNGs to <stem>_frames/")
    generate.add_argument(
        "--last-frame",
        metavar="IMAGE",
        help="a picture for the video to end on (Wan 2.1 I2V and FLF2V, Wan 2.2 A14B, LTX-Video), fitted as the "
        "first is",
    )
    generate.add_argument(
        "--lora",
        action="append",
        default=[],
        metavar="NAME[:STRENGTH]",
        help="a LoRA (Wan, LTX-Video): a .safetensors file, its name in the loras folder (SVD_LORAS_DIR), "
        "owner/repo or owner/repo/file.safetensors, at STRENGTH (default 1); repeat for several",
    )
    add_camera_options(generate, settings)
    add_text_options(generate)
    add_finish_options(generate)
    generate.set_defaults(run=run_generate)

    cameras = commands.add_parser("cameras", help="list the camera moves")
    cameras.set_defaults(run=run_cameras)
    add_text_commands(commands)
    add_finish_command(commands)
    add_ray_command(commands)

    download = commands.add_parser("download", help="fetch a model's fp16 weights into the Hugging Face cache")
    download.add_argument("model", help=f"{', '.join([*CATALOGUE, *DEPTH_MODELS])} or a Hub id")
    download.set_defaults(run=run_download)

    add_make_tiny_command(commands)
    return parser


def add_camera_options(generate: argparse.ArgumentParser, settings: Settings) -> None:
    """`generate`'s camera move and its strength, travel, guide video and depth model."""
    camera = generate.add_argument_group("camera move (see `python -m svd cameras`)")
    camera.add_argument("--camera", default=NO_CAMERA, metavar="MOVE", help=f"{', '.join(MOVES)} (default none)")
    camera.add_argument("--camera-strength", type=float, help="how closely the video follows the move, 0-1")
    camera.add_argument("--camera-amount", type=float, default=1.0, help="how far the camera goes, 0.1-3 (default 1)")
    camera.add_argument(
        "--save-guide", action="store_true", help="also write the move's guide video as <stem>_guide.mp4"
    )
    camera.add_argument(
        "--depth-model",
        default=settings.depth_model,
        help=f"depth model for orbits: {', '.join(DEPTH_MODELS)}, a Hub id or a folder (default %(default)s)",
    )


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        setup_logging(logging.CRITICAL)  # the command line says what happened in its own lines
        return args.run(args)
    except SvdError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if Settings.from_env().debug:
            raise
        print(
            f"error: unexpected failure ({type(error).__name__}: {first_line(error)}); "
            "set SVD_DEBUG=1 to see the traceback and report it",
            file=sys.stderr,
        )
        return 1


def run_generate(args: argparse.Namespace) -> int:
    if not 0 <= args.crf <= 51:
        raise InputError(f"crf {args.crf} is out of range: use a value from 0 to 51")
    settings = replace(Settings.from_env(), device=args.device, speed=args.speed)
    options = {**engine_options(settings), "interpolator": args.interpolator}
    pool = EnginePool.from_settings(settings, args.model, **options)
    engine = pool.primary
    source = engine.source()
    size = parse_size(args.size)
    if not args.images and args.prompt is None:
        raise InputError("give pictures, or --prompt TEXT to start from text", "see python -m svd generate --help")
    args.last_frame_picture = load_image(Path(args.last_frame)) if args.last_frame else None
    paths, is_batch, failures = _expand_inputs(args.images)
    pictures: list[InputImage] = []
    text = None
    if not args.images:
        engine.prepare(_request(PLACEHOLDER, args, None))  # the video's settings fail before any model loads
        picture, text = picture_from_text(engine, args)
        pictures.append(picture)
        size = picture.size
    for path in paths:
        try:
            pictures.append(load_image(path))
        except InputError as error:
            print(f"error: {error}", file=sys.stderr)
            failures += 1
    requests = [replace(_request(picture, args, size), text=text) for picture in pictures]
    if not requests:
        return 2
    engine.prepare(requests[0])  # settings errors come now, before the model loads
    check_output_folder(_output_folder(args.output, is_batch))  # and so does an output folder that cannot be written

    devices = ", ".join(sorted({str(engine.device) for engine in pool.engines}))
    print(f"loading {source.name} on {pool.size} engine(s) ({devices})...", file=sys.stderr)
    with ThreadPoolExecutor(max_workers=pool.size) as workers:  # a batch spreads over the engines
        made = {workers.submit(_generate_with_bar, pool, request, args, is_batch): request for request in requests}
        for done in as_completed(made):
            request = made[done]
            try:
                done.result()
            except ModelError:
                raise
            except SvdError as error:
                print(f"error: {request.image.name}: {error}", file=sys.stderr)
                failures += 1
    return 2 if failures else 0


def _save_videos(results: list[GenerationResult], stem: Path, args: argparse.Namespace) -> None:
    """Each video of one request: `OUT`, or `OUT-1`, `OUT-2`, ... for variations."""
    stems = [
        stem if len(results) == 1 else stem.with_name(f"{stem.name}-{index + 1}") for index in range(len(results))
    ]
    saved = save_generations(results, stems, crf=args.crf, png_folder=args.save_frames, guide=args.save_guide)
    for result, video in zip(results, saved, strict=True):
        _report(result, video.video)


def _output_folder(output: str | None, is_batch: bool) -> Path:
    """Where the videos go: the output folder, the folder given to -o for a batch, else the folder of OUT."""
    if not output:
        return Settings.from_env().output_dir
    return Path(output) if is_batch else Path(output).parent


def _output_stem(output: str | None, is_batch: bool, input_name: str) -> Path:
    """`-o OUT` names the video (OUT.mp4) or, for a batch, the folder; without it, a new name in the output folder."""
    folder = _output_folder(output, is_batch)
    if not output:
        return timestamped_stem(folder, input_name)
    if is_batch:
        return new_stem(folder, safe_name(input_name))
    stem = Path(output)
    return stem.with_suffix("") if stem.suffix.lower() == ".mp4" else stem


def _expand_inputs(items: list[str]) -> tuple[list[Path], bool, int]:
    """Files as given, folders as their pictures; returns the paths, whether it is a batch, and failures so far."""
    paths: list[Path] = []
    failures = 0
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                print(f"error: folder {item} has no pictures ({', '.join(sorted(IMAGE_SUFFIXES))})", file=sys.stderr)
                failures += 1
            paths.extend(found)
        else:
            paths.append(path)
    is_batch = len(items) > 1 or any(Path(item).is_dir() for item in items)
    return paths, is_batch, failures


def _request(picture: InputImage, args: argparse.Namespace, size: tuple[int, int] | None) -> GenerationRequest:
    return GenerationRequest(
        image=picture,
        num_frames=args.frames,
        fps=args.fps,
        motion_bucket_id=args.motion,
        noise_aug_strength=args.noise_aug,
        num_inference_steps=args.steps,
        min_guidance_scale=args.min_cfg,
        max_guidance_scale=args.max_cfg,
        seed=args.seed,
        size=size,
        resize=args.resize,
        decode_chunk_size=args.decode_chunk,
        memory=args.memory,
        camera=args.camera,
        camera_strength=args.camera_strength,
        camera_amount=args.camera_amount,
        depth_model=args.depth_model,
        finish=finish_options(args),
        variations=args.variations,
        prompt=args.prompt if args.images else None,  # else the first frame's text, recorded with it
        negative_prompt=(args.negative_prompt or None) if args.images else None,
        loras=tuple(parse_lora(lora) for lora in args.lora),
        last_frame=args.last_frame_picture,
    )


def _generate_with_bar(pool: EnginePool, request: GenerationRequest, args: argparse.Namespace, is_batch: bool) -> None:
    """Run one request (its variations) with a progress bar of its denoising steps on stderr, shown once the model
    is loaded, and save its videos."""
    bars: list[tqdm] = []

    def show(update: Progress) -> None:
        if not bars:
            bar_format = "{desc}: {bar} {n}/{total} steps{postfix}"
            bars.append(tqdm(desc=request.image.name, file=sys.stderr, bar_format=bar_format, leave=False))
        bar = bars[0]
        bar.total = update.total
        bar.n = update.step
        left = f", {update.eta_seconds:.0f}s left" if update.eta_seconds is not None else ""
        bar.set_postfix_str(update.note or f"{update.stage}{left}")

    def close_bars() -> None:
        for bar in bars:
            bar.close()

    def keep(results: list[GenerationResult]) -> None:
        close_bars()  # before the lines that report each video
        _save_videos(results, _output_stem(args.output, is_batch, request.image.name), args)

    try:
        pool.make(request, keep, progress=show)
    finally:
        close_bars()


def _report(result: GenerationResult, video: Path) -> None:
    settings = result.settings
    total = sum(value for key, value in result.timings.items() if key in ("load", "pipeline"))
    camera = f", camera {settings.camera} (strength {settings.camera_strength:g})" if settings.camera_strength else ""
    print(
        f"{result.input.name}: seed {settings.seed}, {settings.width}x{settings.height}, "
        f"{settings.num_frames} frames at {settings.fps} fps{camera}, {total:.1f}s",
        file=sys.stderr,
    )
    if result.notice:
        print(f"note: {result.notice}", file=sys.stderr)
    print(video)


def run_cameras(args: argparse.Namespace) -> int:
    width = max(len(name) for name in MOVES)
    for move in MOVES.values():
        defaults = f" (travel {move.travel}, strength {move.strength:g})" if move.name != NO_CAMERA else ""
        print(f"{move.name:<{width}}  {move.summary}{defaults}")
    return 0


def run_download(args: argparse.Namespace) -> int:
    depth_repo = DEPTH_MODELS.get(args.model.strip(), args.model.strip())
    if depth_repo in DEPTH_MODELS.values():
        print(f"downloading the depth model {depth_repo}...", file=sys.stderr)
        print(download_model(depth_repo, allow_patterns=DEPTH_FILES))
        return 0
    source = resolve_model(args.model)
    if source.is_local:
        print(f"{args.model} is a local folder; there is nothing to download", file=sys.stderr)
        return 0
    assert source.repo_id is not None
    print(f"downloading the files of {source.repo_id} that a load needs...", file=sys.stderr)
    print(download_model(source.repo_id, allow_patterns=repository_files(source)))
    for file in source.hub_files:  # a Turbo UNet, distillation LoRAs, an LTX-Video checkpoint or upsampler
        print(f"downloading {file.filename} of {file.repo_id}...", file=sys.stderr)
        print(fetch_hub_file(file))
    return 0
