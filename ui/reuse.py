"""Reuse: put a past generation's settings back into the controls.

The size comes back as it was chosen: `auto` stays auto, so the next picture gets its own aspect, and only a size
picked by hand is pinned again. A run on a CPU comes back with the memory profile `auto`. A generation from before
camera moves comes back with none, and one from before finishing with none. A setting the video's model did not
take (SVD's motion for a Wan video) leaves its control as it is. The prompt of a picture's video (a model that takes
text) comes back in the box that describes the motion; a text-to-video run's prompt is its first frame's, which the
Text panel brings back (`text_source.text_from`).
"""

from __future__ import annotations

import gradio as gr

from svd.camera.moves import MOVES, NO_CAMERA
from svd.engine import Engine
from svd.errors import SvdError
from svd.finish.options import FORMATS, INTERPOLATION_FACTORS, LOOPS, MAX_SEGMENTS, UPSCALE_CHOICES
from svd.models.memory import CHOICES as MEMORY_CHOICES
from svd.output.history import output_file
from svd.request import MAX_LORAS
from svd.settings import Settings

from .choices import AUTO, aspect_choices, model_choices, more_choices, size_controls
from .loras import loras_from
from .text import from_text


def controls_from(engine: Engine, settings: Settings, record: dict | None) -> list:
    """Values for the Create tab's controls (in `CreateTab.controls` order) that reproduce `record`."""
    if record is None:
        gr.Info("Nothing to reuse yet: generate a video, or pick one in the History tab.")
        return [gr.skip()] * (28 + MAX_LORAS + 1)
    models = [value for _, value in model_choices(settings)]
    model = record["model"] if record["model"] in models else settings.model
    try:
        defaults = engine.source(model).defaults
    except SvdError:
        defaults = engine.source().defaults
    size_choice = record.get("size_choice") or AUTO  # generations from before sizes were recorded: auto
    aspect, more_size, width, height = size_controls(defaults, size_choice)
    memory = record["memory_profile"] if record["memory_profile"] in MEMORY_CHOICES else "auto"
    return [
        gr.Radio(choices=aspect_choices(defaults), value=aspect),
        gr.Dropdown(choices=more_choices(defaults), value=more_size),
        width if width is not None else gr.skip(),
        height if height is not None else gr.skip(),
        record["resize"], _taken(record, "motion_bucket_id"), record["num_frames"], record["fps"], record["seed"],
        record["num_inference_steps"], record["min_guidance_scale"], record["max_guidance_scale"],
        _taken(record, "noise_aug_strength"), record["decode_chunk_size"], memory, model, *_camera_values(record),
        *_finish_values(record), 1,  # one video: the one reused, with its own seed
        *_prompt_values(record), _last_frame(record, settings), *loras_from(record, settings),
    ]  # fmt: skip


def _last_frame(record: dict, settings: Settings) -> str | None:
    """The picture the video ended on, from the output folder (None: it had none, or it is gone)."""
    path = output_file(settings.output_dir, record, "last_frame_picture")
    if record.get("last_frame_picture") and path is None:
        gr.Warning("This video's last frame is not in the output folder any more: its other settings are back.")
    return str(path) if path is not None else None


def _taken(record: dict, key: str):
    """`record`'s value of a setting only some families take; its control unchanged where the model had none."""
    value = record.get(key)
    return gr.skip() if value is None else value


def _prompt_values(record: dict) -> tuple[str, str]:
    """The video's prompt and negative prompt: a picture's video's own (empty for a model that takes no text); for a
    text-to-video run, whose prompt made its first frame (the Text panel brings that back), the motion's if it had
    one."""
    if from_text(record):
        return record.get("motion_prompt") or "", record.get("motion_negative_prompt") or ""
    return record.get("prompt") or "", record.get("negative_prompt") or ""


def _camera_values(record: dict) -> tuple[str, float, float]:
    """The move, strength and amount of `record`; none and the defaults where it has none."""
    camera = record.get("camera") if record.get("camera") in MOVES else NO_CAMERA
    strength = record.get("camera_strength")
    amount = record.get("camera_amount")
    return camera, MOVES[camera].strength if strength is None else strength, 1.0 if amount is None else amount


def _finish_values(record: dict) -> tuple[int, int, str, str, list[str]]:
    """The extend, interpolation, upscale, loop and extra formats of `record`; off where it has none (a video made
    before finishing, or one finished twice, whose combined interpolation the page does not offer)."""
    interpolate = record.get("interpolate") if record.get("interpolate") in INTERPOLATION_FACTORS else 1
    upscale = record.get("upscale") if record.get("upscale") in UPSCALE_CHOICES else "none"
    loop = record.get("loop") if record.get("loop") in LOOPS else "none"
    extend = record.get("extend") if record.get("extend") in range(1, MAX_SEGMENTS + 1) else 1
    formats = [name for name in record.get("formats") or [] if name in FORMATS[1:]]
    return extend, interpolate, upscale, loop, formats
