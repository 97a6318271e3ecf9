"""What finishing a video means: the options a user picks, and the shape of the video they lead to.

The stages run in this order: extend -> interpolate -> upscale -> loop -> encode. Every option is off by default, and
with all of them off the frames are the pipeline's, written as today's MP4.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import InputError

INTERPOLATION_FACTORS = (1, 2, 3, 4)
UPSCALE_CHOICES = ("none", "2", "4", "1080p", "4k")
LOOPS = ("none", "boomerang", "crossfade")
MAX_SEGMENTS = 4
FORMATS = ("mp4", "webm", "gif", "webp")
CROSSFADE_SECONDS = 0.5
"""How long the end of a crossfade loop blends into its start (at most a third of the clip)."""

BOX = {"1080p": (1920, 1080), "4k": (3840, 2160)}
"""The landscape box each fixed size fits in; portrait videos use it turned."""


@dataclass(frozen=True)
class FinishOptions:
    interpolate: int = 1
    """Frames become (F - 1) * k + 1 and the file's fps becomes fps * k; the model still sees the chosen fps."""
    upscale: str = "none"
    upscaler: str | None = None
    """Upscaler weights: a catalogue name or a .pth file; None: the server's default."""
    loop: str = "none"
    extend: int = 1
    """How many segments are chained, each starting from the last frame of the one before."""
    formats: tuple[str, ...] = ("mp4",)
    """MP4 is always written (the page and the history play it); the others are written beside it."""


def check_finish(options: FinishOptions) -> FinishOptions:
    """Validate the options, putting the formats in canonical order with MP4 first."""
    if options.interpolate not in INTERPOLATION_FACTORS:
        raise InputError(f"interpolation x{options.interpolate} is not offered", "use 2, 3 or 4 (1 for none)")
    if options.upscale not in UPSCALE_CHOICES:
        raise InputError(f"upscale '{options.upscale}' is not offered", f"use one of {', '.join(UPSCALE_CHOICES)}")
    if options.loop not in LOOPS:
        raise InputError(f"loop '{options.loop}' is not offered", f"use one of {', '.join(LOOPS)}")
    if not 1 <= options.extend <= MAX_SEGMENTS:
        raise InputError(f"extend {options.extend} is out of range", f"chain 1 to {MAX_SEGMENTS} segments")
    return FinishOptions(
        interpolate=options.interpolate,
        upscale=options.upscale,
        upscaler=options.upscaler,
        loop=options.loop,
        extend=options.extend,
        formats=parse_formats(",".join(options.formats)),
    )


def parse_formats(text: str) -> tuple[str, ...]:
    """'webm, GIF' -> ('mp4', 'webm', 'gif'): the formats named, MP4 first and always."""
    names = [name.strip().lower().removeprefix(".") for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in FORMATS]
    if unknown:
        raise InputError(f"format '{unknown[0]}' is not offered", f"use any of {', '.join(FORMATS)}")
    return tuple(name for name in FORMATS if name == "mp4" or name in names)


def upscaled_size(width: int, height: int, choice: str) -> tuple[int, int]:
    """The exact size an upscale choice gives: x2 and x4 multiply; 1080p and 4k fit the video in their box (turned
    for portrait), keeping its aspect with even sides, so 1024x576 becomes exactly 1920x1080."""
    if choice == "none":
        return width, height
    if choice in ("2", "4"):
        return width * int(choice), height * int(choice)
    box_width, box_height = BOX[choice]
    if height > width:
        box_width, box_height = box_height, box_width
    scale = min(box_width / width, box_height / height)
    return _even(width * scale), _even(height * scale)


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def segment_frames(num_frames: int, segments: int) -> int:
    """Frames of a chained video: each later segment's first frame repeats the hand-over frame and is dropped."""
    return num_frames + (segments - 1) * (num_frames - 1)


def crossfade_length(num_frames: int, fps: float) -> int:
    """How many frames a crossfade loop blends: about CROSSFADE_SECONDS, at most a third of the clip."""
    return max(1, min(round(CROSSFADE_SECONDS * fps), num_frames // 3))


def looped_frames(num_frames: int, loop: str, fps: float) -> int:
    if loop == "boomerang":
        return 2 * num_frames - 2
    if loop == "crossfade":
        return num_frames - crossfade_length(num_frames, fps)
    return num_frames


@dataclass(frozen=True)
class FinishedShape:
    """What the finished video will be, shown before Generate."""

    num_frames: int
    fps: int
    width: int
    height: int

    @property
    def duration_seconds(self) -> float:
        return self.num_frames / self.fps


def finished_shape(num_frames: int, fps: int, width: int, height: int, options: FinishOptions) -> FinishedShape:
    frames = segment_frames(num_frames, options.extend)
    frames = (frames - 1) * options.interpolate + 1
    video_fps = fps * options.interpolate
    frames = looped_frames(frames, options.loop, video_fps)
    width, height = upscaled_size(width, height, options.upscale)
    return FinishedShape(frames, video_fps, width, height)


def describe_shape(shape: FinishedShape) -> str:
    seconds = math.floor(shape.duration_seconds * 10) / 10
    return f"{shape.num_frames} frames at {shape.fps} fps, {shape.width}×{shape.height}, {seconds:g} s"
