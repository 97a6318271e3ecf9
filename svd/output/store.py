"""The output store: each generation is `<stem>.mp4` plus its other formats, the input picture, a poster frame, the
model's own frames as lossless PNGs in a zip, optionally the video's PNG frames in a folder, and a `<stem>.json`
sidecar that names every one of those files.

All of a generation's files are written under temporary names and renamed together, the sidecar last, so a sidecar
always describes a complete generation (but for the zip of the model's frames when left to a background thread,
which appears when done); the history (`svd.output.history`) is the list of sidecars, and finds each file by the
name its sidecar gives, never by deriving it again.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import platform
import re
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

import diffusers
import numpy as np
import torch
import transformers

from .. import __version__
from ..cancel import Cancel, stop_if_cancelled
from ..finish.options import FORMATS
from ..input.image import InputImage
from ..media.files import PendingFiles
from ..media.frames import stage_seconds
from ..media.video import DEFAULT_CRF, Encoded, FrameSink, PngFolder, PngZip, Poster, write_frames, write_png_zip
from ..results import GenerationResult

logger = logging.getLogger("svd")

FRAMES_SUFFIX = "_frames"
MODEL_FRAMES_SUFFIX = "_model_frames.zip"
INPUT_SUFFIX = "_input"
LAST_FRAME_SUFFIX = "_last"
"""The picture a video was asked to end on, beside its input picture."""
FIRST_FRAME_SUFFIX = "_first_frame"
"""The input picture of a text-to-video run: the first frame made from the prompt."""
POSTER_SUFFIX = "_poster.jpg"
GUIDE_SUFFIX = "_guide.mp4"
ZIP_WRITER = "svd-frames-zip"
"""The name of the threads that write the zips of model frames after the rest of a video is saved."""
BROWSER_FORMATS = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp"}
"""Input pictures in these formats are kept as they came (a browser shows them); others are kept as PNG."""

FORMAT_KEYS = {name: "video" if name == "mp4" else name for name in FORMATS}
"""The sidecar key that names each format's file."""


@dataclass(frozen=True)
class SavedGeneration:
    video: Path
    sidecar: Path
    model_frames: Path | None
    """The zip of the model's own frames (None: none were kept)."""
    picture: Path
    record: dict
    frames_written: threading.Event = field(default_factory=threading.Event)
    """Set once the model's frames are on disk: at once, unless they were left to a background thread."""


def save_generation(
    result: GenerationResult,
    stem: Path,
    crf: int = DEFAULT_CRF,
    png_folder: bool = False,
    guide: bool = False,
    frames_later: bool = False,
    cancel: Cancel | None = None,
) -> SavedGeneration:
    """Write the MP4 and the other formats asked for, the zip of the model's own frames, the video's PNG frames in a
    folder if asked (for an editor), the input picture, a poster, the camera's guide video if asked and the sidecar.
    All of them are written under temporary names in one pass over the frames and renamed together at the end, the
    sidecar last: a failed or cancelled save leaves none.

    `frames_later`: the zip of the model's frames is written by a background thread once the rest is saved, so the
    video is there without waiting for it (zipping 25 frames of 1024x576 takes longer than encoding the MP4)."""
    return save_generations([result], [stem], crf, png_folder, guide, frames_later, cancel)[0]


def save_generations(
    results: list[GenerationResult],
    stems: list[Path],
    crf: int = DEFAULT_CRF,
    png_folder: bool = False,
    guide: bool = False,
    frames_later: bool = False,
    cancel: Cancel | None = None,
) -> list[SavedGeneration]:
    """The videos of one run (its variations), each saved as `save_generation` saves one, and all renamed at the
    end together: if one fails or the run is cancelled, none of them is kept."""
    with PendingFiles(stems[0].parent) as pending:
        written = [
            _write(result, stem, pending, crf, png_folder, guide, frames_later, cancel)
            for result, stem in zip(results, stems, strict=True)
        ]
        stop_if_cancelled(cancel, "the video was saved")
        pending.commit()
    for saved, zip_later in written:
        if zip_later is None:
            saved.frames_written.set()
        else:
            writing = (zip_later, saved.model_frames, saved.frames_written)
            threading.Thread(target=_write_zip, args=writing, name=ZIP_WRITER, daemon=True).start()
    return [saved for saved, _ in written]


def _write(
    result: GenerationResult,
    stem: Path,
    pending: PendingFiles,
    crf: int,
    png_folder: bool,
    guide: bool,
    frames_later: bool,
    cancel: Cancel | None,
) -> tuple[SavedGeneration, np.ndarray | None]:
    """Write one generation's files under `pending`'s temporary names; returns it, and the frames to zip later."""
    fps = result.video_fps or result.settings.fps
    _, height, width, _ = result.frames.shape
    paths = {name: _beside(stem, f".{name}") for name in result.settings.formats}
    sinks: list[FrameSink] = [
        Encoded(pending.temporary(path), name, width, height, fps, crf) for name, path in paths.items()
    ]
    frames_path = _beside(stem, FRAMES_SUFFIX) if png_folder else None
    if frames_path is not None:
        sinks.append(PngFolder(pending.temporary(frames_path)))
    poster = _beside(stem, POSTER_SUFFIX)
    sinks.append(Poster(pending.temporary(poster)))
    started = time.perf_counter()
    write_frames(result.frames, sinks, cancel)
    model_path = _beside(stem, MODEL_FRAMES_SUFFIX) if result.model_frames is not None else None
    later = frames_later and model_path is not None
    if model_path is not None and not later:
        write_frames(result.model_frames, [PngZip(pending.temporary(model_path))], cancel)  # type: ignore[arg-type]
    made = stage_seconds(result.frames)
    timings = {**result.timings, "video_encode": time.perf_counter() - started - sum(made.values())}
    for stage, seconds in made.items():
        timings[stage] = timings.get(stage, 0.0) + seconds
    from_text = result.settings.t2i_model is not None  # a prompt alone may be what a Wan video was asked to show
    picture = write_input_picture(result.input, stem, FIRST_FRAME_SUFFIX if from_text else INPUT_SUFFIX, pending)
    last = result.last_frame
    last_picture = write_input_picture(last, stem, LAST_FRAME_SUFFIX, pending) if last is not None else None
    guide_path = _beside(stem, GUIDE_SUFFIX) if guide and result.guide is not None else None
    if guide_path is not None:
        guide_height, guide_width = result.guide.shape[1:3]  # type: ignore[union-attr]
        encoder = Encoded(pending.temporary(guide_path), "mp4", guide_width, guide_height, result.settings.fps, crf)
        write_frames(result.guide, [encoder], cancel)  # type: ignore[arg-type]
    timings["total"] = sum(value for key, value in timings.items() if _counts_to_total(key))
    files = {**{FORMAT_KEYS[name]: path for name, path in paths.items()}, "frames": frames_path}
    files["model_frames"] = model_path
    files |= {"input_picture": picture, "last_frame_picture": last_picture, "poster": poster, "guide": guide_path}
    if from_text:
        files["first_frame"] = picture
    record = sidecar_record(result, files, crf, timings)
    sidecar = _beside(stem, ".json")
    pending.temporary(sidecar).write_text(json.dumps(record, indent=2) + "\n")
    saved = SavedGeneration(_beside(stem, ".mp4"), sidecar, model_path, picture, record)
    return saved, result.model_frames if later else None


def wait_for_background_writes(timeout: float) -> None:
    """Let the zips of model frames being written finish, for up to `timeout` seconds in all (a server stopping)."""
    deadline = time.monotonic() + timeout
    for thread in threading.enumerate():
        if thread.name == ZIP_WRITER:
            thread.join(max(0.0, deadline - time.monotonic()))


def _write_zip(frames: np.ndarray, path: Path, written: threading.Event) -> None:
    try:
        write_png_zip(frames, path)
    except Exception as error:  # the video and its sidecar are saved; only the zip is missing, which the log says
        logger.error(f"the model's frames of {path.name} could not be written: {error}")
    finally:
        written.set()


_TOTAL_STAGES = ("load", "pipeline", "video_encode")
"""The stages that add up to the time the user waited, with every `finish_` stage (`video_encode` is the one pass
that writes every format and the frames)."""


def write_input_picture(picture: InputImage, stem: Path, name: str, pending: PendingFiles) -> Path:
    """Keep the picture a generation started from, so it can be reused: its own file when a browser can show it,
    else a PNG of the upright sRGB picture the model saw."""
    suffix = BROWSER_FORMATS.get(picture.format or "")
    path = _beside(stem, name + (suffix or ".png"))
    temporary = pending.temporary(path)
    if suffix:
        temporary.write_bytes(picture.data)
    else:
        picture.image.save(temporary, format="PNG")
    return path


def sidecar_record(
    result: GenerationResult, files: dict[str, Path | None], crf: int, timings: dict[str, float]
) -> dict:
    return {
        **dataclasses.asdict(result.settings),
        **finished_video(result),
        "input_name": result.input.name,
        "input_sha256": result.input.sha256,
        "last_frame_name": result.last_frame.name if result.last_frame else None,
        "last_frame_sha256": result.last_frame.sha256 if result.last_frame else None,
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
        "cost_units": result.cost_units,
        "owner": result.owner,
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
        "model_num_frames": None if result.model_frames is None else len(result.model_frames),
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


MAX_STEM_BYTES = 80
"""The longest name made from a file name or a prompt, in UTF-8 bytes: with the time before it and the longest
suffix after it, a file name stays well within the 255 bytes every file system takes."""


def safe_name(file_name: str) -> str:
    """A stem for outputs from an input's file name (or a prompt's words): its suffix dropped, and everything but
    letters (of any script), digits, dash and underscore replaced (dots too, so that no suffix logic can cut the name
    later), cut to whole characters within `MAX_STEM_BYTES`."""
    stem = unicodedata.normalize("NFC", PurePosixPath(file_name.replace("\\", "/")).stem)
    name = re.sub(r"[^\w-]+", "_", stem).strip("_-")
    name = name.encode("utf-8", errors="ignore")[:MAX_STEM_BYTES].decode("utf-8", errors="ignore")
    return name.strip("_-") or "video"


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
