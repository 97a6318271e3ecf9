"""Reading a sidecar back: the record of a video made here, with every key the history, Reuse and Finish read of the
type it must have, and what older sidecars lack filled in. A file that is not such a record (not JSON, a list, a
seed that is text, a frame rate of zero) is refused in one line, never half-read.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from pathlib import Path

from ..errors import InputError
from ..request import GenerationSettings, LoraUse

REQUIRED = (
    "model", "seed", "width", "height", "num_frames", "fps", "motion_bucket_id", "noise_aug_strength",
    "num_inference_steps", "min_guidance_scale", "max_guidance_scale", "decode_chunk_size", "memory_profile", "video",
)  # fmt: skip
"""What every sidecar has held since the first one."""

POSITIVE = ("width", "height", "num_frames", "fps", "video_num_frames", "video_fps", "video_width", "video_height")

EXTRA_KEYS: dict[str, object] = {
    "video": str | None, "stopped": str | None, "webm": str | None, "gif": str | None, "webp": str | None,
    "frames": str | None, "model_frames": str | None, "model_num_frames": int | None, "input_picture": str | None,
    "last_frame_picture": str | None, "last_frame_name": str | None, "last_frame_sha256": str | None,
    "poster": str | None, "guide": str | None, "first_frame": str | None,
    "input_name": str, "input_sha256": str, "created": str, "timings": dict, "notes": list,
    "segment_seeds": list | None, "interpolation_method": str | None, "finished_from": str | None,
    "duration_seconds": float, "video_num_frames": int, "video_fps": int, "video_width": int, "video_height": int,
    "peak_vram_bytes": int | None, "cost_units": float | None, "owner": str | None,
}  # fmt: skip
"""The types of the keys a sidecar holds besides the settings."""

SETTINGS_KEYS = typing.get_type_hints(GenerationSettings)
OLDER_DEFAULTS = {"resize": "crop", "size_choice": "auto", "input_name": "", "input_sha256": "", "created": "",
                  "timings": {}, "notes": []}  # fmt: skip
"""What sidecars from before a key was written stand for."""


def read_record(sidecar: Path) -> dict:
    """The record of `sidecar` (a file in an output folder; a link is not followed), complete and typed."""
    try:
        if sidecar.is_symlink():
            raise OSError("a link")
        record = json.loads(sidecar.read_text())
    except FileNotFoundError:
        raise not_here(sidecar) from None
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise InputError(f"{sidecar.name} cannot be read ({type(error).__name__})", "pick another video") from error
    problem = _problem(record)
    if problem is not None:
        raise InputError(f"{sidecar.name} is not a video's record ({problem})", "pick another video")
    return _completed(record)


def not_here(sidecar: Path) -> InputError:
    """Said of a video that is not in the output folder, or not the asker's: the same either way."""
    return InputError(f"there is no video {sidecar.stem} here", "pick one from the history")


def _problem(record: object) -> str | None:
    """What is wrong with a record read from JSON, if anything."""
    if not isinstance(record, dict):
        return f"it holds a {type(record).__name__}, not an object"
    missing = [key for key in REQUIRED if key not in record]
    if missing:
        return f"it has no {missing[0]}"
    for key, kind in {**SETTINGS_KEYS, **EXTRA_KEYS}.items():
        if key in record and not _fits(record[key], kind):
            return f"its {key} is {json.dumps(record[key])[:30]}"
    bad = next((key for key in POSITIVE if key in record and record[key] <= 0), None)
    return f"its {bad} is {record[bad]}" if bad else None


def _fits(value: object, kind: object) -> bool:
    """Whether a JSON value is of a setting's type (int, float, str, bool, a tuple of str, a Literal, a union)."""
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, part) for part in typing.get_args(kind))
    if origin is typing.Literal:
        return value in typing.get_args(kind)
    if origin is tuple and typing.get_args(kind)[0] is LoraUse:
        return isinstance(value, list) and all(_is_lora(item) for item in value)
    if origin is tuple or kind is list or origin is list:
        return isinstance(value, list | tuple) and all(isinstance(item, str | int) for item in value)
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is type(None):
        return value is None
    return isinstance(value, kind)  # type: ignore[arg-type]


def _is_lora(item: object) -> bool:
    """Whether a JSON value is a `LoraUse` as `dataclasses.asdict` writes it."""
    hints = typing.get_type_hints(LoraUse)
    return isinstance(item, dict) and item.keys() == hints.keys() and all(_fits(item[k], hints[k]) for k in hints)


def _completed(record: dict) -> dict:
    """The record with the keys older sidecars lack: their defaults, and the written video as generated."""
    defaults = {field.name: field.default for field in dataclasses.fields(GenerationSettings)}
    defaults = {key: value for key, value in defaults.items() if value is not dataclasses.MISSING}
    written = {
        "video_num_frames": record["num_frames"], "video_fps": record["fps"], "video_width": record["width"],
        "video_height": record["height"], "duration_seconds": record["num_frames"] / record["fps"],
    }  # fmt: skip
    return {**defaults, **OLDER_DEFAULTS, **written, **record}


def settings_of(record: dict) -> GenerationSettings:
    """The settings a completed record was made with."""
    names = {field.name for field in dataclasses.fields(GenerationSettings)}
    values = {key: value for key, value in record.items() if key in names}
    loras = tuple(LoraUse(**lora) for lora in values.get("loras", ()))
    return GenerationSettings(**{**values, "formats": tuple(values.get("formats", ("mp4",))), "loras": loras})


def finishing_of(record: dict) -> str:
    """The finishing a video's frames went through after the model, in words ("" for none): "×2, boomerang"."""
    parts = [f"×{record['interpolate']}"] if (record.get("interpolate") or 1) > 1 else []
    parts += [f"upscaled {record['upscale']}"] if record.get("upscale") not in (None, "none") else []
    parts += [record["loop"]] if record.get("loop") not in (None, "none") else []
    return ", ".join(parts)
