"""The command line's text-to-video parts: `--prompt` and its options on `generate`, `first-frames` and `styles`.

A first frame is made with the text-to-image model, fitted to the SVD model's bucket for the aspect, and then
animated exactly as a picture is; the sidecar says what made it.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from ..engine import Engine
from ..errors import InputError
from ..input.image import InputImage, load_image
from ..input.sizing import ASPECT_NAMES, aspect_size
from ..media.files import atomic_path
from ..models.memory import choose_profile
from ..output.store import safe_name
from ..request import TextSource
from ..seeds import RANDOM_SEED, draw_seed
from ..settings import Settings
from ..text.catalogue import DEFAULT_TEXT_MODEL, TEXT_MODELS, resolve_text_model
from ..text.first_frames import MAX_CANDIDATES, FirstFrameMaker, FirstFrames
from ..text.styles import check_style, load_styles


def add_text_options(parser: argparse.ArgumentParser) -> None:
    """The options that make a first frame from text (`generate --prompt` and `first-frames`)."""
    group = parser.add_argument_group("text to video (see `python -m svd styles`)")
    group.add_argument(
        "--prompt", help="no picture: make the first frame from this text; with one: what the video shows (Wan)"
    )
    group.add_argument(
        "--negative-prompt", default="", help="what the first frame (or the video, for Wan) should not show"
    )
    group.add_argument("--style", default="none", help="a style preset (default none)")
    group.add_argument("--aspect", default="16:9", help=f"{', '.join(ASPECT_NAMES)} (default 16:9)")
    group.add_argument(
        "--t2i-model",
        default=DEFAULT_TEXT_MODEL,
        help=f"text-to-image model: {', '.join(TEXT_MODELS)}, a Hub id or a folder (default %(default)s)",
    )
    group.add_argument("--t2i-steps", type=int, help="text-to-image steps (default: the model's)")
    group.add_argument("--t2i-guidance", type=float, help="text-to-image guidance (default: the model's)")


def add_text_commands(commands) -> None:
    first = commands.add_parser("first-frames", help="make first-frame candidates from text, without a video")
    add_text_options(first)
    first.add_argument("-n", "--count", type=int, default=4, help=f"how many, 1-{MAX_CANDIDATES} (default 4)")
    first.add_argument("-o", "--output", type=Path, required=True, help="folder for the pictures")
    first.add_argument("--seed", type=int, help="seed of the first candidate; the others count up from it")
    first.add_argument("--model", default=Settings.from_env().model, help="the SVD model whose sizes are used")
    first.add_argument("--device", choices=("auto", "cuda", "cpu"), default=Settings.from_env().device)
    first.add_argument("--memory", default=Settings.from_env().memory, help="GPU memory profile")
    first.set_defaults(run=run_first_frames)
    styles = commands.add_parser("styles", help="list the style presets")
    styles.set_defaults(run=run_styles)


def first_frames(engine: Engine, args: argparse.Namespace, count: int, seed: int) -> FirstFrames:
    """`count` candidates for the arguments' prompt, sized for the engine's model."""
    if not (args.prompt or "").strip():
        raise InputError("the prompt is empty", "describe the picture to start the video from with --prompt TEXT")
    style = check_style(args.style, load_styles(Settings.from_env().styles_file))
    model = resolve_text_model(args.t2i_model)
    video_size = aspect_size(args.aspect, engine.source().defaults)
    maker = FirstFrameMaker(engine.device)
    print(f"making {count} first frame{'s' if count > 1 else ''} with {model.name}...", file=sys.stderr)
    maker.load(model)
    maker.place(choose_profile(args.memory, engine.device))
    frames = maker.make(
        model, args.prompt, style, video_size, count, seed, args.negative_prompt, args.t2i_steps, args.t2i_guidance
    )
    if frames.notice:
        print(f"note: {frames.notice}", file=sys.stderr)
    return frames


def picture_from_text(engine: Engine, args: argparse.Namespace) -> tuple[InputImage, TextSource]:
    """The first frame for `generate --prompt`, as a picture to animate, and what made it."""
    seed = draw_seed() if args.seed in (None, RANDOM_SEED) else args.seed
    frames = first_frames(engine, args, 1, seed)
    data = io.BytesIO()
    frames.pictures[0].save(data, format="PNG")
    name = safe_name(" ".join(args.prompt.split()[:6])) + ".png"
    text = TextSource(args.prompt.strip(), args.negative_prompt.strip(), args.style, frames.model, seed)
    return load_image(data.getvalue(), name=name), text


def run_first_frames(args: argparse.Namespace) -> int:
    seed = draw_seed() if args.seed in (None, RANDOM_SEED) else args.seed
    engine = Engine(device=args.device, default_model=args.model)
    frames = first_frames(engine, args, args.count, seed)
    args.output.mkdir(parents=True, exist_ok=True)
    for picture, picture_seed in zip(frames.pictures, frames.seeds, strict=True):
        path = args.output / f"first_frame_{picture_seed}.png"
        with atomic_path(path) as temporary:
            picture.save(temporary, format="PNG")
        print(path)
    return 0


def run_styles(args: argparse.Namespace) -> int:
    styles = load_styles(Settings.from_env().styles_file)
    width = max(len(name) for name in styles)
    for style in styles.values():
        suggested = {"motion": style.motion, "camera": style.camera}
        listed = ", ".join(f"{key} {value}" for key, value in suggested.items() if value is not None)
        extra = f" ({listed})" if listed else ""
        print(f"{style.name:<{width}}  {style.prompt}{extra}")
    return 0
