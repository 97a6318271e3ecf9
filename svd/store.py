"""The output store: each generation is `<stem>.mp4` plus the input picture, a poster frame, optionally PNG frames,
and last a `<stem>.json` sidecar that names every one of those files.

The sidecar is written last, so a sidecar always describes a complete generation (but for a zip of PNG frames left to
a background thread, which appears when done); the history (`svd.history`) is the list of sidecars, and finds each
file by the name its sidecar gives, never by deriving it again.
"""

from __future__ import annotations

import dataclasses
import logging
import platform
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

import diffusers
import numpy as np
import torch
import transformers
from PIL import Image

from . import __version__
from .files import atomic_path, write_json
from .finish.options import FORMATS
from .formats import write_video
from .image import InputImage
from .results import GenerationResult
from .video import DEFAULT_CRF, write_mp4, write_png_frames, write_png_zip

logger = logging.getLogger("svd")

FRAMES_SUFFIX = "_frames"
INPUT_SUFFIX = "_input"
FIRST_FRAME_SUFFIX = "_first_frame"
"""The input picture of a text-to-video run: the first frame made from the prompt."""
POSTER_SUFFIX = "_poster.jpg"
GUIDE_SUFFIX = "_guide.mp4"
POSTER_SIZE = (480, 480)
ZIP_WRITER = "svd-frames-zip"
"""The name of the threads that write frame zips after the rest of a video is saved."""
BROWSER_FORMATS = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp"}
"""Input pictures in these formats are kept as they came (a browser shows them); others are kept as PNG."""

FramesFormat = Literal["folder", "zip"]


@dataclass(frozen=True)
class SavedGeneration:
    video: Path
    sidecar: Path
    frames: Path | None
    picture: Path
    record: dict
    frames_written: threading.Event = field(default_factory=threading.Event)
    """Set once the PNG frames are on disk: at once, unless they were left to a background thread."""


def save_generation(
    result: GenerationResult,
    stem: Path,
    crf: int = DEFAULT_CRF,
    frames: FramesFormat | None = None,
    guide: bool = False,
    frames_later: bool = False,
) -> SavedGeneration:
    """Write the MP4 and the other formats asked for, the input picture, a poster, the PNG frames if asked (a folder
    or a zip), the camera's guide video if asked and, last, the sidecar; each appears only when complete.

    `frames_later`: the zip of PNG frames is written by a background thread once the rest is saved, so the video
    is there without waiting for it (zipping 25 frames of 1024x576 takes longer than encoding the MP4)."""
    video = _beside(stem, ".mp4")
    fps = result.video_fps or result.settings.fps
    started = time.perf_counter()
    write_mp4(result.frames, video, fps=fps, crf=crf)
    timings = {**result.timings, "video_encode": time.perf_counter() - started}
    formats: dict[str, Path | None] = {}
    for name in result.settings.formats:
        if name != "mp4":
            started = time.perf_counter()
            formats[name] = write_video(result.frames, stem, fps, name)
            timings[f"{name}_encode"] = time.perf_counter() - started
    frames_path = None
    if frames == "folder":
        frames_path = _beside(stem, FRAMES_SUFFIX)
        write_png_frames(result.frames, frames_path)
    elif frames == "zip":
        frames_path = _beside(stem, FRAMES_SUFFIX + ".zip")
        if not frames_later:
            write_png_zip(result.frames, frames_path)
    from_text = result.settings.prompt is not None
    picture = write_input_picture(result.input, stem, FIRST_FRAME_SUFFIX if from_text else INPUT_SUFFIX)
    poster = write_poster(result.frames[0], _beside(stem, POSTER_SUFFIX))
    guide_path = None
    if guide and result.guide is not None:
        guide_path = _beside(stem, GUIDE_SUFFIX)
        write_mp4(result.guide, guide_path, fps=result.settings.fps, crf=crf)
    timings["total"] = sum(value for key, value in timings.items() if _counts_to_total(key))
    files = {"video": video, **formats, "frames": frames_path, "input_picture": picture, "poster": poster}
    files["guide"] = guide_path
    if from_text:
        files["first_frame"] = picture
    record = sidecar_record(result, files, crf, timings)
    sidecar = _beside(stem, ".json")
    write_json(sidecar, record)
    saved = SavedGeneration(video=video, sidecar=sidecar, frames=frames_path, picture=picture, record=record)
    if frames == "zip" and frames_later:
        writing = (result.frames, frames_path, saved.frames_written)
        threading.Thread(target=_write_zip, args=writing, name=ZIP_WRITER, daemon=True).start()
    else:
        saved.frames_written.set()
    return saved


def wait_for_background_writes(timeout: float) -> None:
    """Let the frame zips still being written finish, for up to `timeout` seconds in all (a server stopping)."""
    deadline = time.monotonic() + timeout
    for thread in threading.enumerate():
        if thread.name == ZIP_WRITER:
            thread.join(max(0.0, deadline - time.monotonic()))


def _write_zip(frames: np.ndarray, path: Path, written: threading.Event) -> None:
    try:
        write_png_zip(frames, path)
    except Exception as error:  # the video and its sidecar are saved; only the zip is missing, which the log says
        logger.error(f"the PNG frames of {path.name} could not be written: {error}")
    finally:
        written.set()


_TOTAL_STAGES = ("load", "pipeline", "video_encode", *(f"{name}_encode" for name in FORMATS))
"""The stages that add up to the time the user waited, with every `finish_` stage."""


def write_input_picture(picture: InputImage, stem: Path, name: str = INPUT_SUFFIX) -> Path:
    """Keep the picture a generation started from, so it can be reused: its own file when a browser can show it,
    else a PNG of the upright sRGB picture the model saw."""
    suffix = BROWSER_FORMATS.get(picture.format or "")
    path = _beside(stem, name + (suffix or ".png"))
    with atomic_path(path) as temporary:
        if suffix:
            temporary.write_bytes(picture.data)
        else:
            picture.image.save(temporary, format="PNG")
    return path


def write_poster(frame: np.ndarray, path: Path) -> Path:
    """A small JPEG of a frame, for the history's gallery."""
    poster = Image.fromarray(frame)
    poster.thumbnail(POSTER_SIZE)
    with atomic_path(path) as temporary:
        poster.save(temporary, format="JPEG", quality=85)
    return path


def sidecar_record(
    result: GenerationResult, files: dict[str, Path | None], crf: int, timings: dict[str, float]
) -> dict:
    return {
        **dataclasses.asdict(result.settings),
        **finished_video(result),
        "input_name": result.input.name,
        "input_sha256": result.input.sha256,
        **{key: path.name if path else None for key, path in files.items()},
        "crf": crf,
        "device": result.device,
        "worker": result.worker,
        "speed": result.speed,
        "dtype": result.dtype,
        "timings": {key: round(value, 4) for key, value in timings.items()},
        "step_seconds": [round(value, 4) for value in result.step_seconds],
        "peak_vram_bytes": result.peak_vram_bytes,
        "peak_vram_reserved_bytes": result.peak_vram_reserved_bytes,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": versions(),
    }


def finished_video(result: GenerationResult) -> dict:
    """What the written video is: with finishing, more frames at a higher fps and a larger size than generated."""
    count, height, width = result.frames.shape[:3]
    fps = result.video_fps or result.settings.fps
    return {
        "duration_seconds": round(count / fps, 3),
        "video_num_frames": count,
        "video_fps": fps,
        "video_width": width,
        "video_height": height,
        "segment_seeds": result.segment_seeds,
        "interpolation_method": result.interpolation_method,
        "notes": result.notes,
        "finished_from": result.finished_from,
    }


def versions() -> dict[str, str | None]:
    return {
        "svd_studio": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "diffusers": diffusers.__version__,
        "transformers": transformers.__version__,
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
    }


def safe_name(file_name: str) -> str:
    """A stem for outputs from an input's file name: its suffix dropped, and everything but letters, digits, dash
    and underscore replaced (dots too, so that no suffix logic can cut the name later)."""
    return re.sub(r"[^\w-]+", "_", Path(file_name).stem).strip("_-") or "video"


_GIVEN_STEMS: set[Path] = set()
_STEMS_LOCK = threading.Lock()
"""The stems given out in this process, so that videos saved at once (one per engine) never get the same one."""


def new_stem(directory: Path, base: str) -> Path:
    """A stem in `directory` that no existing output uses and that this process has not given out: `base`,
    `base-2`, `base-3`, ... (`base` is safe_name'd)."""
    with _STEMS_LOCK:
        candidate, number = directory / base, 1
        while candidate in _GIVEN_STEMS or any(directory.glob(f"{candidate.name}[._]*")):
            number += 1
            candidate = directory / f"{base}-{number}"
        _GIVEN_STEMS.add(candidate)
    return candidate


def timestamped_stem(directory: Path, input_name: str) -> Path:
    """The default stem for the output folder: `20261121-153000-<input name>`."""
    return new_stem(directory, f"{datetime.now():%Y%m%d-%H%M%S}-{safe_name(input_name)}")


def _beside(stem: Path, suffix: str) -> Path:
    """`stem` with `suffix` added (not replacing anything after a dot in the stem's name)."""
    return stem.with_name(stem.name + suffix)


def _counts_to_total(stage: str) -> bool:
    return stage in _TOTAL_STAGES or stage.startswith("finish_")
