"""What a request costs, known before any work: the GPU work it asks for, the video it writes, the memory its frames
hold and the disk its files take; checked against the operator's limits (the same for the page, the API and the CLI).

Work is counted in FLOPs from the size of each stage (frames x pixels x steps, for every video and segment), with the
FLOPs per pixel of each network counted once on its full-size architecture (bench/flops.py), and told in units: one
unit is a video at the server model's own settings (for SVD-XT, 25 frames of 1024x576 in 25 steps: 4.2 PFLOP). Daily
allowances are counted in the same units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from .errors import InputError
from .finish.models import FinishingWork
from .finish.options import FinishOptions, finished_shape, segment_frames
from .media.formats import GIF_MAX_WIDTH
from .models.entries import NetworkWork
from .settings import Limits

UNIT_STEP = 0.1
"""Costs are told in tenths of a unit, rounded up; any work costs at least one tenth."""


@dataclass(frozen=True)
class Cost:
    flops: float
    """The GPU work, estimated."""
    units: float
    """The work in units (see the module's notes), rounded up to a tenth."""
    frames: int
    """Frames of each written video (0 for pictures)."""
    fps: int
    width: int
    height: int
    memory_bytes: int
    """Frames held in memory at once."""
    disk_bytes: int
    """What its files are expected to take."""

    def check(self, limits: Limits) -> None:
        """Refuse a request over any limit, in one line that says the largest allowed."""
        pixels = self.width * self.height
        if self.units > limits.work:
            raise InputError(
                f"this asks for {self.units:g} videos' work (variations x segments x frames x size x steps, with the "
                f"finishing); one request may ask for at most {limits.work:g} (SVD_MAX_WORK)",
                "ask for fewer variations, segments, frames or steps, or less finishing",
            )
        if self.frames > limits.frames:
            raise InputError(
                f"the video would have {self.frames:,} frames; a video may have at most {limits.frames:,} "
                "(SVD_MAX_FRAMES)",
                "ask for fewer frames or segments, less interpolation, or no boomerang",
            )
        if self.fps > limits.fps:
            raise InputError(
                f"the video would play at {self.fps:,} fps; a video may play at most {limits.fps} fps (SVD_MAX_FPS)",
                "interpolate less or lower the fps",
            )
        if pixels > limits.pixels:
            raise InputError(
                f"the video would be {self.width}x{self.height} ({pixels / 1e6:.1f} megapixels a frame); a frame may "
                f"have at most {limits.pixels / 1e6:.1f} megapixels (SVD_MAX_PIXELS)",
                "upscale less",
            )
        if self.memory_bytes > limits.memory_gb * 1024**3:
            raise InputError(
                f"this would hold {self.memory_bytes / 1024**3:.1f} GB of frames in memory; one request may hold at "
                f"most {limits.memory_gb:g} GB (SVD_MAX_MEMORY_GB)",
                "ask for fewer variations, frames or segments, or less interpolation",
            )


@dataclass(frozen=True)
class VideoShape:
    """`videos` videos of `frames` frames of `width` x `height` at `fps`."""

    frames: int
    fps: int
    width: int
    height: int
    videos: int = 1

    @property
    def pixels(self) -> int:
        return self.width * self.height


def in_units(flops: float, unit_flops: float) -> float:
    """`flops` in units, rounded up to a tenth (at least a tenth)."""
    tenths = max(1, math.ceil(round(flops / unit_flops / UNIT_STEP, 6)))
    return round(tenths * UNIT_STEP, 1)


def segment_flops(frames: int, pixels: int, steps: float, guided: bool, work: NetworkWork) -> float:
    """The work of animating one segment: `frames` frames of `pixels` pixels in `steps` steps, and its decode
    (a unit is this for a video at the server model's own settings)."""
    return pixels * (work.encode + frames * (steps * (2 if guided else 1) * work.step + work.decode))


def video_cost(
    shape: VideoShape,
    steps: float,
    guided: bool,
    options: FinishOptions,
    work: NetworkWork,
    finishing: FinishingWork,
    unit: float,
) -> Cost:
    """A generation's cost: `shape.videos` videos of `options.extend` segments each, animated, then finished."""
    animated = shape.videos * options.extend * segment_flops(shape.frames, shape.pixels, steps, guided, work)
    extended = VideoShape(segment_frames(shape.frames, options.extend), shape.fps, shape.width, shape.height)
    held = shape.videos * options.extend * shape.frames * shape.pixels * 3  # every segment of every video
    chained = replace(options, extend=1)  # the segments are chained now: what follows finishes `extended`
    return _finished(extended, chained, finishing, unit, animated, held, shape.videos)


def finishing_cost(shape: VideoShape, options: FinishOptions, finishing: FinishingWork, unit: float) -> Cost:
    """The cost of finishing a video made before, whose frames are read back into memory."""
    return _finished(shape, options, finishing, unit, 0.0, shape.frames * shape.pixels * 3, 1)


def pictures_cost(
    count: int, width: int, height: int, steps: int, guided: bool, work: NetworkWork, unit: float
) -> Cost:
    """The cost of `count` pictures from a text-to-image network at `width` x `height`."""
    flops = count * segment_flops(1, width * height, steps, guided, work)
    held = count * width * height * 3
    return Cost(flops, in_units(flops, unit), 0, 0, width, height, held, held // 2)


def _finished(
    shape: VideoShape,
    options: FinishOptions,
    finishing: FinishingWork,
    unit: float,
    flops: float,
    held: int,
    videos: int,
) -> Cost:
    """`flops` of work and `held` bytes of frames in memory so far, with the finishing of `videos` videos of `shape`
    added, and the files they are written to."""
    interpolated = (shape.frames - 1) * options.interpolate + 1
    out = finished_shape(shape.frames, shape.fps, shape.width, shape.height, options)
    upscaled = 0
    if options.upscale != "none":  # a boomerang reads each upscaled frame twice, and each is made again
        upscaled = out.num_frames if options.loop == "boomerang" else interpolated
    new_frames = interpolated - shape.frames
    flops += videos * shape.pixels * (new_frames * finishing.interpolate + upscaled * finishing.upscale)
    if options.interpolate > 1:
        held += videos * interpolated * shape.pixels * 3
    if "gif" in options.formats:  # ffmpeg keeps every frame of a GIF for its palette
        gif_width = min(out.width, GIF_MAX_WIDTH)
        held += videos * out.num_frames * gif_width * (out.height * gif_width // out.width) * 3
    raw = out.num_frames * out.width * out.height * 3
    model_png = shape.frames * shape.pixels * 3 // 2  # the zip of the model's own frames
    written = model_png + raw // 20 + (len(options.formats) - 1) * raw // 10  # MP4, the other formats
    return Cost(flops, in_units(flops, unit), out.num_frames, out.fps, out.width, out.height, held, videos * written)
