"""Finishing a video made before, without generating again: its lossless PNG frames when they were kept (else its
MP4, decoded), through the engine's finishing stages, saved as a new generation whose sidecar names the one it came
from. The original is left as it was."""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from PIL import Image

from .engine import Engine
from .errors import InputError
from .finish.options import FinishOptions, check_finish
from .history import output_file
from .image import load_image
from .request import GenerationSettings
from .results import GenerationResult
from .store import SavedGeneration, new_stem, save_generation


@dataclasses.dataclass(frozen=True)
class PastVideo:
    record: dict
    sidecar: Path
    frames: np.ndarray


def read_past_video(sidecar: Path) -> PastVideo:
    """The sidecar's record and the frames of the video it names."""
    try:
        record = json.loads(sidecar.read_text())
    except FileNotFoundError:
        raise InputError(
            f"there is no video {sidecar.stem} in {sidecar.parent}", "pick one from the history"
        ) from None
    except (OSError, ValueError) as error:
        raise InputError(f"{sidecar.name} cannot be read ({type(error).__name__})", "pick another video") from None
    folder = sidecar.parent
    frames_path = output_file(folder, record, "frames")
    video = output_file(folder, record, "video")
    if frames_path is not None:
        frames = _png_frames(frames_path)
    elif video is not None:
        frames = _decoded_frames(video)
    else:
        raise InputError(f"the video of {sidecar.name} is missing from {folder}", "pick another video")
    return PastVideo(record, sidecar, frames)


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


def refinish(engine: Engine, sidecar: Path, options: FinishOptions, frames: str | None = None) -> SavedGeneration:
    """Finish the video of `sidecar` with `options` into a new generation beside it (`<stem>-finished`)."""
    options = check_finish(options)
    if options == FinishOptions():
        raise InputError("nothing to finish", "choose smooth motion, an upscale, a loop or another format first")
    if options.upscale != "none":
        options = dataclasses.replace(options, upscaler=options.upscaler or engine.finishing.default_upscaler)
    past = read_past_video(sidecar)
    record = past.record
    fps = int(record.get("video_fps") or record["fps"])
    finished = engine.finish(past.frames, fps, options)
    settings = _settings(record, options)
    picture = output_file(sidecar.parent, record, "input_picture")
    if picture is None:
        raise InputError(f"the input picture of {sidecar.name} is missing", "pick another video")
    result = GenerationResult(
        frames=finished.frames,
        settings=settings,
        input=load_image(picture, name=record.get("input_name") or picture.name),
        timings=finished.timings,
        step_seconds=[],
        peak_vram_bytes=None,
        peak_vram_reserved_bytes=None,
        device=engine.device.type,
        dtype=str(engine.dtype).removeprefix("torch."),
        video_fps=finished.fps,
        segment_seeds=record.get("segment_seeds"),
        interpolation_method=finished.interpolation_method or record.get("interpolation_method"),
        notes=finished.notes,
        finished_from=sidecar.name,
        speed=record.get("speed", "plain"),
    )
    stem = new_stem(sidecar.parent, f"{sidecar.stem}-finished")
    return save_generation(result, stem, frames=frames)  # type: ignore[arg-type]


def _settings(record: dict, options: FinishOptions) -> GenerationSettings:
    """The past video's settings with this finishing added: interpolation multiplies; a new upscale or loop replaces
    the old one; the formats are the ones asked for now."""
    fields = {field.name for field in dataclasses.fields(GenerationSettings)}
    settings = GenerationSettings(**{key: value for key, value in record.items() if key in fields})
    upscaling = options.upscale != "none"
    return dataclasses.replace(
        settings,
        interpolate=int(record.get("interpolate") or 1) * options.interpolate,
        upscale=options.upscale if upscaling else settings.upscale,
        upscaler=options.upscaler if upscaling else settings.upscaler,
        loop=options.loop if options.loop != "none" else settings.loop,
        formats=options.formats,
    )
