"""The command line's `make-tiny`: tiny random-weight models of every kind the studio loads, in their real layouts,
for trying the studio and for the tests where no weights can be downloaded (they generate noise)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..camera.tiny_depth import save_random_depth_model
from ..errors import InputError
from ..families.ltx.tiny import save_random_model as save_random_ltx
from ..families.svd.tiny import architecture_defaults, save_random_model
from ..families.wan.tiny import save_random_model as save_random_wan
from ..finish.rife import save_random_rife
from ..finish.upscale import save_random_upscaler
from ..text.tiny import save_random_text_model

WAN_LAYOUTS = ("2.1", "2.1-flf2v", "2.2-ti2v", "2.2-a14b")
"""The tiny Wan models `make-tiny --wan` writes, by the version whose layout they have."""


def add_make_tiny_command(commands) -> None:
    make_tiny = commands.add_parser("make-tiny", help="write a tiny random-weight model (it generates noise)")
    make_tiny.add_argument("folder", type=Path)
    make_tiny.add_argument("--variant", choices=("fp16",), help="write fp16 variant weights, as the Hub repos have")
    kind = make_tiny.add_mutually_exclusive_group()
    kind.add_argument("--depth", action="store_true", help="write a tiny random-weight depth model instead")
    kind.add_argument("--text-to-image", action="store_true", help="write a tiny random text-to-image model instead")
    kind.add_argument("--interpolator", action="store_true", help="write random RIFE weights (FOLDER/flownet.pkl)")
    kind.add_argument("--upscaler", action="store_true", help="write a tiny random upscaler (FOLDER/upscaler.pth)")
    kind.add_argument("--wan", choices=WAN_LAYOUTS, help="write a tiny random Wan model of that version instead")
    kind.add_argument("--ltx", action="store_true", help="write a tiny random LTX-Video model instead")
    make_tiny.set_defaults(run=run_make_tiny)


def run_make_tiny(args: argparse.Namespace) -> int:
    if args.variant and (
        args.depth or args.text_to_image or args.interpolator or args.upscaler or args.wan or args.ltx
    ):
        raise InputError("--variant is for the SVD model; the other tiny models are fp32 only")
    if args.interpolator or args.upscaler:
        args.folder.mkdir(parents=True, exist_ok=True)
    if args.interpolator:
        folder, note = save_random_rife(args.folder / "flownet.pkl"), "random RIFE weights make noise between frames"
    elif args.upscaler:
        folder, note = save_random_upscaler(args.folder / "upscaler.pth"), "the tiny upscaler's pictures are noise"
    elif args.depth:
        folder, note = save_random_depth_model(args.folder), "the tiny depth model's maps are noise"
    elif args.text_to_image:
        folder, note = save_random_text_model(args.folder), "the tiny text-to-image model makes noise, not pictures"
    elif args.wan:
        folder, note = save_random_wan(f"tiny-wan{args.wan}", args.folder), "the tiny Wan model makes noise, not video"
    elif args.ltx:
        folder, note = save_random_ltx("tiny-ltx", args.folder), "the tiny LTX-Video model makes noise, not video"
    else:
        folder = save_random_model("tiny", args.folder, variant=args.variant)
        note = architecture_defaults("tiny").notice
    print(f"note: {note}", file=sys.stderr)
    print(folder)
    return 0
