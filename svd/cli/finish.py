"""The command line's finishing parts: the options on `generate`, and `finish`, which finishes a video made before
(from its sidecar) without generating again."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..engine import Engine
from ..finish.options import (
    FORMATS,
    INTERPOLATION_FACTORS,
    LOOPS,
    MAX_SEGMENTS,
    UPSCALE_CHOICES,
    FinishOptions,
    parse_formats,
)
from ..refinish import past_video, refinish
from ..settings import Settings


def add_finish_options(parser: argparse.ArgumentParser, extend: bool = True) -> None:
    settings = Settings.from_env()
    group = parser.add_argument_group("finishing (in this order: extend, interpolate, upscale, loop)")
    if extend:
        group.add_argument(
            "--extend", type=int, default=1, help=f"chain 1-{MAX_SEGMENTS} segments from each last frame (default 1)"
        )
    factors = "|".join(str(factor) for factor in INTERPOLATION_FACTORS[1:])
    group.add_argument("--interpolate", type=int, default=1, help=f"{factors}: k times the frames and the fps")
    group.add_argument("--upscale", default="none", help=f"{'|'.join(UPSCALE_CHOICES[1:])} (default none)")
    group.add_argument("--upscaler", help=f"upscaler weights: a catalogue name or .pth (default {settings.upscaler})")
    group.add_argument(
        "--interpolator",
        default=settings.interpolator,
        help="RIFE weights: a catalogue name or flownet file, or minterpolate (default %(default)s)",
    )
    group.add_argument("--loop", default="none", help=f"{'|'.join(LOOPS)} (default none)")
    group.add_argument(
        "--format", default="mp4", help=f"any of {','.join(FORMATS)}, comma-separated; MP4 is always written"
    )


def finish_options(args: argparse.Namespace) -> FinishOptions:
    return FinishOptions(
        interpolate=args.interpolate,
        upscale=args.upscale,
        upscaler=args.upscaler,
        loop=args.loop,
        extend=getattr(args, "extend", 1),
        formats=parse_formats(args.format),
    )


def add_finish_command(commands) -> None:
    finish = commands.add_parser("finish", help="finish a video made before (interpolate, upscale, loop, formats)")
    finish.add_argument("sidecar", type=Path, metavar="OUT.json", help="the sidecar of the video to finish")
    finish.add_argument("--device", choices=("auto", "cuda", "cpu"), default=Settings.from_env().device)
    add_finish_options(finish, extend=False)
    finish.set_defaults(run=run_finish)


def run_finish(args: argparse.Namespace) -> int:
    options = finish_options(args)
    engine = Engine(device=args.device, interpolator=args.interpolator, upscaler=Settings.from_env().upscaler)
    saved = refinish(engine, past_video(args.sidecar), options)
    for note in saved.record["notes"]:
        print(f"note: {note}", file=sys.stderr)
    record = saved.record
    print(
        f"{args.sidecar.stem}: {record['video_num_frames']} frames at {record['video_fps']} fps, "
        f"{record['video_width']}x{record['video_height']}",
        file=sys.stderr,
    )
    print(saved.video)
    return 0
