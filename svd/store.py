"""The output store: each generation is `<stem>.mp4` plus a `<stem>.json` sidecar (and optionally PNG frames).

The sidecar is written last, so a sidecar always describes a complete video; the history is the list of sidecars.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

import diffusers
import torch
import transformers

from . import __version__
from .engine import GenerationResult
from .files import write_json
from .video import DEFAULT_CRF, write_mp4, write_png_frames, write_png_zip

FRAMES_SUFFIX = "_frames"


FramesFormat = Literal["folder", "zip"]


@dataclass(frozen=True)
class SavedGeneration:
    video: Path
    sidecar: Path
    frames: Path | None
    record: dict


def save_generation(
    result: GenerationResult, stem: Path, crf: int = DEFAULT_CRF, frames: FramesFormat | None = None
) -> SavedGeneration:
    """Write the MP4, the PNG frames if asked (a folder or a zip) and, last, the sidecar; each appears only when
    complete."""
    video = stem.with_name(stem.name + ".mp4")
    started = time.perf_counter()
    write_mp4(result.frames, video, fps=result.settings.fps, crf=crf)
    timings = {**result.timings, "video_encode": time.perf_counter() - started}
    frames_path = None
    if frames == "folder":
        frames_path = stem.with_name(stem.name + FRAMES_SUFFIX)
        write_png_frames(result.frames, frames_path)
    elif frames == "zip":
        frames_path = stem.with_name(stem.name + FRAMES_SUFFIX + ".zip")
        write_png_zip(result.frames, frames_path)
    timings["total"] = sum(value for key, value in timings.items() if key in _TOTAL_STAGES)
    record = sidecar_record(result, video, frames_path, crf, timings)
    sidecar = stem.with_name(stem.name + ".json")
    write_json(sidecar, record)
    return SavedGeneration(video=video, sidecar=sidecar, frames=frames_path, record=record)


_TOTAL_STAGES = ("load", "pipeline", "video_encode")


def sidecar_record(
    result: GenerationResult, video: Path, frames: Path | None, crf: int, timings: dict[str, float]
) -> dict:
    return {
        **dataclasses.asdict(result.settings),
        "duration_seconds": round(result.settings.num_frames / result.settings.fps, 3),
        "input_name": result.input_name,
        "input_sha256": result.input_sha256,
        "video": video.name,
        "frames": frames.name if frames else None,
        "crf": crf,
        "device": result.device,
        "dtype": result.dtype,
        "timings": {key: round(value, 4) for key, value in timings.items()},
        "step_seconds": [round(value, 4) for value in result.step_seconds],
        "peak_vram_bytes": result.peak_vram_bytes,
        "peak_vram_reserved_bytes": result.peak_vram_reserved_bytes,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": versions(),
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


def safe_name(text: str) -> str:
    """A file-name-safe version of an input's name (letters, digits, dot, dash and underscore)."""
    return re.sub(r"[^\w.-]+", "_", Path(text).stem).strip("._") or "video"


def new_stem(directory: Path, name: str) -> Path:
    """A stem in `directory` that no existing output uses: `name`, `name-2`, `name-3`, ..."""
    base = safe_name(name)
    candidate, number = directory / base, 1
    suffixes = (".mp4", ".json", FRAMES_SUFFIX, FRAMES_SUFFIX + ".zip")
    while any(candidate.with_name(candidate.name + suffix).exists() for suffix in suffixes):
        number += 1
        candidate = directory / f"{base}-{number}"
    return candidate


def timestamped_stem(directory: Path, input_name: str) -> Path:
    """The default stem for the output folder: `20261121-153000-<input name>`."""
    return new_stem(directory, f"{datetime.now():%Y%m%d-%H%M%S}-{safe_name(input_name)}")


def list_history(output_dir: Path, limit: int = 200) -> list[dict]:
    """Past generations in `output_dir`, newest first: each sidecar whose video is there, with `stem` added."""
    newest_first = sorted(output_dir.glob("*.json"), key=_modified, reverse=True)
    records = []
    for sidecar in newest_first:  # read only as many sidecars as are listed
        if len(records) == limit:
            break
        try:
            record = json.loads(sidecar.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and (output_dir / str(record.get("video"))).is_file():
            records.append({**record, "stem": str(sidecar.with_suffix(""))})
    return records


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # removed since it was listed
        return 0.0
