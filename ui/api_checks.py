"""How the API checks each value as it arrives: its type and its choices, with one line that names it. Ranges are
checked where the values are used, so the page, the API and the command line refuse them in the same words.

`refuse_at_once` runs these checks, and those of names (models, the picture's file, the video to finish), when a call
arrives, before it waits in the GPU queue (Gradio's validator): a bad value is refused at once, told on its parameter.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from functools import partial
from inspect import Parameter, signature
from pathlib import Path

import gradio as gr

from svd.camera.moves import MOVES
from svd.errors import InputError, SvdError
from svd.families.catalogue import served_models
from svd.finish.options import LOOPS, UPSCALE_CHOICES, parse_formats
from svd.input.sizing import ASPECT_NAMES, RESIZE_MODES, parse_size
from svd.loras.library import parse_loras, served
from svd.models.memory import CHOICES as MEMORY_CHOICES
from svd.refinish import past_video
from svd.request import LoraChoice, check_text
from svd.settings import Settings
from svd.text.catalogue import served_text_models

from .uploads import in_upload_folder

Check = Callable[[str, object], object]


def shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def whole(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value % 1:
        raise InputError(f"{name} must be a whole number, not {shown(value)}")
    return int(value)


def whole_or_none(name: str, value: object) -> int | None:
    return None if value is None else whole(name, value)


def number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"{name} must be a number, not {shown(value)}")
    return float(value)


def number_or_none(name: str, value: object) -> float | None:
    return None if value is None else number(name, value)


def text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise InputError(f"{name} must be text, not {shown(value)}")
    return check_text(name, value)


def text_or_none(name: str, value: object) -> str | None:
    return None if value is None else text(name, value)


def choice(name: str, value: object, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise InputError(f"{name} must be one of {', '.join(choices)}, not {shown(value)}")
    return value  # type: ignore[return-value]


def lora_list(name: str, value: object) -> tuple[LoraChoice, ...]:
    """`NAME[:STRENGTH]` LoRAs separated by commas ("" for none)."""
    return parse_loras(text(name, value))


def picture_or_none(name: str, value: object) -> dict | None:
    """A picture file as Gradio's API gives it (FileData), or None."""
    if value is None or (isinstance(value, dict) and value.get("path")):
        return value  # type: ignore[return-value]
    raise InputError(
        f"{name} must be a file, not {shown(value)}: with gradio_client pass handle_file('photo.jpg'); over HTTP, "
        'a FileData object {"path": ..., "meta": {"_type": "gradio.FileData"}}'
    )


def checked(checks: dict[str, Check], given: dict[str, object]) -> dict[str, object]:
    """`given`'s values, each checked by its entry in `checks`, in the table's order; an error names its parameter."""
    values = {}
    for name, check in checks.items():
        with about(name):
            values[name] = check(name, given[name])
    return values


@contextlib.contextmanager
def about(parameter: str) -> Iterator[None]:
    """An `SvdError` raised inside is about `parameter` (the API tells it on that parameter)."""
    try:
        yield
    except SvdError as error:
        error.parameter = error.parameter or parameter
        raise


CHECKS: dict[str, Check] = {
    "motion": whole_or_none, "frames": whole, "fps": whole, "seed": whole, "size": text,
    "resize": partial(choice, choices=RESIZE_MODES), "steps": whole, "min_cfg": number_or_none,
    "max_cfg": number_or_none, "noise_aug": number_or_none, "decode_chunk": whole,
    "memory": partial(choice, choices=MEMORY_CHOICES), "model": text,
    "camera": partial(choice, choices=tuple(MOVES)), "camera_strength": number_or_none, "camera_amount": number,
    **(FINISH_CHECKS := {
        "extend": whole, "interpolate": whole, "upscale": partial(choice, choices=UPSCALE_CHOICES),
        "loop": partial(choice, choices=LOOPS), "formats": text,
    }),
    "variations": whole, "prompt": text_or_none, "negative_prompt": text_or_none, "last_frame": picture_or_none,
    "loras": lora_list,
}  # fmt: skip
"""How each video setting that the API takes is checked, in the order of `Controls`: the finishing ones, then the
variations, then what the video should show (for models that take text), last."""

TEXT_CHECKS: dict[str, Check] = {
    "prompt": text, "negative_prompt": text, "style": text, "aspect": partial(choice, choices=tuple(ASPECT_NAMES)),
    "t2i_model": text, "t2i_steps": whole_or_none, "t2i_guidance": number_or_none,
}  # fmt: skip
"""How each setting of a first frame is checked; text to video takes these and the video's (but its size)."""

FIRST_FRAME_CHECKS: dict[str, Check] = {**TEXT_CHECKS, "count": whole, "seed": whole, "model": text}


def refuse_at_once(demo: gr.Blocks, function: Callable, settings: Settings) -> None:
    """Check an endpoint's values (made by `gr.api` from `function`) when a call arrives."""
    names = [
        name for name, parameter in signature(function).parameters.items() if parameter.annotation is not gr.Request
    ]
    endpoint = next(fn for fn in demo.fns.values() if fn.fn is function)

    def validate(*values):
        try:
            check_at_edge(settings, dict(zip(names, values, strict=True)))
        except SvdError as error:
            at = error.parameter if error.parameter in names else names[0]
            return [gr.validate(name != at, str(error) if name == at else "") for name in names]
        return [gr.validate(True, "")] * len(names)

    endpoint.validator = validate


def api_parameters(function: Callable) -> list[Parameter]:
    """An endpoint's inputs: its parameters but the `gr.Request` that Gradio fills in itself."""
    return [value for value in signature(function).parameters.values() if value.annotation is not gr.Request]


def endpoint_of(demo: gr.Blocks, function: Callable):
    """The Gradio event that `gr.api` made of `function`."""
    return next(fn for fn in demo.fns.values() if fn.fn is function)


def check_at_edge(settings: Settings, given: dict[str, object]) -> None:
    """Every check of `given` that needs no model and no GPU: each value's type, the picture's file, the names of
    models (which may only be those the server offers) and of the video to finish."""
    tables = {**TEXT_CHECKS, **FIRST_FRAME_CHECKS, **CHECKS}
    values = checked({name: check for name, check in tables.items() if name in given}, given)
    for name in ("picture", "last_frame"):
        with about(name):
            if isinstance(given.get(name), dict):
                in_upload_folder(given[name].get("path"))  # type: ignore[union-attr]
    with about("size"):
        parse_size(values.get("size") or "auto")  # type: ignore[arg-type]
    with about("formats"):
        parse_formats(values.get("formats") or "mp4")  # type: ignore[arg-type]
    with about("model"):
        served_models(settings).name(values.get("model") or "")  # type: ignore[arg-type]
    with about("loras"):
        for lora in values.get("loras") or ():
            served(lora.name, settings.hub_models)
    with about("t2i_model"):
        served_text_models(settings).name(values.get("t2i_model") or "")  # type: ignore[arg-type]
    with about("video"):
        if "video" in given:
            past_video(settings.output_dir / sidecar_name(text("video", given["video"])))


def sidecar_name(name: str) -> str:
    """A video's id as the API takes it: the file name of its sidecar in the output folder."""
    if Path(name).name != name or not name.endswith(".json") or name.startswith("."):
        raise InputError(f"{shown(name)} is not a video of this server", "give the sidecar name from settings")
    return name
