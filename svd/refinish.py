"""Finishing a video made before, without generating again: from the model's own frames, kept lossless beside every
video, through the engine's finishing stages, saved as a new generation whose sidecar names the one it came from and
says the finishing it has (not stacked on the old one's). An older video that kept no model frames is finished from
its written frames (its PNGs if kept, else its MP4, decoded), and the record says so. The original is left as it
was. Only what the output folder holds is read: its sidecar (a complete, typed record), and files it names that are
there, no links."""

from __future__ import annotations

import dataclasses
import functools
import io
import re
import zipfile
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from PIL import Image

from .cancel import Cancel
from .cost import Cost, VideoShape
from .engine import Engine
from .errors import InputError
from .finish.options import FinishOptions, check_finish
from .input.image import load_image
from .output.history import output_file
from .output.sidecar import finishing_of, read_record, settings_of
from .output.store import SavedGeneration, new_stem, save_generation
from .request import GenerationSettings
from .results import GenerationResult


@dataclasses.dataclass(frozen=True)
class PastVideo:
    """A video of an output folder: its sidecar and the record in it."""

    sidecar: Path
    record: dict

    @functools.cached_property
    def model_frames(self) -> Path | None:
        """The zip of the model's own frames beside it, looked for once (videos made before they were kept have
        none), so that the cost, the frames read and the record all speak of the same frames."""
        return output_file(self.sidecar.parent, self.record, "model_frames")

    @property
    def shape(self) -> VideoShape:
        """The frames that finishing starts from: the model's own if kept, else the written video's."""
        record = self.record
        if self.model_frames is not None and record.get("model_num_frames"):
            return VideoShape(record["model_num_frames"], record["fps"], record["width"], record["height"])
        return VideoShape(
            record["video_num_frames"], record["video_fps"], record["video_width"], record["video_height"]
        )

    def frames(self) -> np.ndarray:
        """The frames that finishing starts from: the model's own (lossless) if kept, else the written video's (its
        PNGs if kept, else its MP4, decoded)."""
        folder, name = self.sidecar.parent, self.sidecar.name
        try:
            kept = self.model_frames or output_file(folder, self.record, "frames")
            if kept is not None:
                return _png_frames(kept)
            video = output_file(folder, self.record, "video")
            if video is not None:
                return _decoded_frames(video)
        except (OSError, ValueError, RuntimeError, zipfile.BadZipFile) as error:
            raise InputError(
                f"the frames of {name} cannot be read ({type(error).__name__})", "pick another video"
            ) from error
        raise InputError(f"the video of {name} is not in the output folder any more", "pick another video")


def past_video(sidecar: Path) -> PastVideo:
    """The video of `sidecar`, a sidecar in an output folder."""
    return PastVideo(sidecar, read_record(sidecar))


def _png_frames(path: Path) -> np.ndarray:
    if path.is_dir():
        return np.stack([np.asarray(Image.open(file).convert("RGB")) for file in sorted(path.glob("*.png"))])
    with zipfile.ZipFile(path) as archive:
        names = sorted(name for name in archive.namelist() if name.endswith(".png"))
        return np.stack([np.asarray(Image.open(io.BytesIO(archive.read(name))).convert("RGB")) for name in names])


def _decoded_frames(path: Path) -> np.ndarray:
    reader = imageio_ffmpeg.read_frames(str(path))
    width, height = next(reader)["size"]
    return np.stack([np.frombuffer(frame, np.uint8).reshape(height, width, 3) for frame in reader])


def finishing_options(engine: Engine, options: FinishOptions) -> FinishOptions:
    """`options` checked, with the engine's upscaler when they upscale; refused when they change nothing."""
    options = check_finish(options)
    if options == FinishOptions():
        raise InputError("nothing to finish", "choose smooth motion, an upscale, a loop or another format first")
    if options.upscale != "none":
        options = dataclasses.replace(options, upscaler=options.upscaler or engine.finishing.default_upscaler)
    return options


def refinish_cost(engine: Engine, past: PastVideo, options: FinishOptions) -> Cost:
    """What finishing `past` with `options` costs, checked against the engine's limits."""
    cost = engine.finish_cost(past.shape, finishing_options(engine, options))
    cost.check(engine.limits)
    return cost


def refinish(
    engine: Engine,
    past: PastVideo,
    options: FinishOptions,
    cancel: Cancel | None = None,
    owner: str | None = None,
) -> SavedGeneration:
    """Finish `past` with `options` into a new generation beside it (`<stem>-finished`, `<stem>-finished-2`, ...),
    `owner`'s."""
    cost = refinish_cost(engine, past, options)
    options = finishing_options(engine, options)
    record, sidecar = past.record, past.sidecar
    picture = output_file(sidecar.parent, record, "input_picture")
    if picture is None:
        raise InputError(f"the input picture of {sidecar.name} is not in the output folder any more", "pick another")
    from_model = past.model_frames is not None
    source = past.frames()
    finished = engine.finish(source, past.shape.fps, options, cancel)
    notes, earlier = list(finished.notes), finishing_of(record)
    if not from_model and earlier:
        notes.append(f"finished on top of its finishing ({earlier}): it kept no frames of the model")
    result = GenerationResult(
        frames=finished.frames,
        model_frames=source if from_model else None,
        settings=_settings(record, options, from_model),
        input=load_image(picture, name=record["input_name"] or picture.name),
        timings=finished.timings,
        step_seconds=[],
        peak_vram_bytes=None,
        peak_vram_reserved_bytes=None,
        device=engine.device.type,
        dtype=str(engine.dtype).removeprefix("torch."),
        video_fps=finished.fps,
        segment_seeds=record.get("segment_seeds"),
        interpolation_method=finished.interpolation_method or _earlier_method(record, from_model),
        notes=notes,
        finished_from=sidecar.name,
        speed=str(record.get("speed", "plain")),
        cost_units=cost.units,
        owner=owner,
    )
    original = re.sub(r"(-finished(-\d+)?)+$", "", sidecar.stem)  # finishing again never lengthens the name
    stem = new_stem(sidecar.parent, f"{original}-finished")
    return save_generation(result, stem, cancel=cancel)


def _earlier_method(record: dict, from_model: bool) -> str | None:
    """How the frames finishing starts from were interpolated: not at all if they are the model's."""
    return None if from_model else record.get("interpolation_method")


def _settings(record: dict, options: FinishOptions, from_model: bool) -> GenerationSettings:
    """The past video's settings with this finishing: from the model's frames, exactly the finishing asked for now;
    on top of a finished video, interpolation multiplies and a new upscale or loop replaces the old one. The formats
    are the ones asked for now."""
    settings = settings_of(record)
    if from_model:
        settings = dataclasses.replace(settings, interpolate=1, upscale="none", upscaler=None, loop="none")
    upscaling = options.upscale != "none"
    return dataclasses.replace(
        settings,
        interpolate=settings.interpolate * options.interpolate,
        upscale=options.upscale if upscaling else settings.upscale,
        upscaler=options.upscaler if upscaling else settings.upscaler,
        loop=options.loop if options.loop != "none" else settings.loop,
        formats=options.formats,
    )
