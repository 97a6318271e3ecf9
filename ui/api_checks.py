"""How the API checks each value as it arrives: its type and its choices, with one line that names it. Ranges are
checked where the values are used, so the page, the API and the command line refuse them in the same words."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

from svd.camera.moves import MOVES
from svd.errors import InputError
from svd.finish.options import LOOPS, UPSCALE_CHOICES
from svd.memory import CHOICES as MEMORY_CHOICES
from svd.sizing import ASPECT_NAMES, RESIZE_MODES

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
    return value


def choice(name: str, value: object, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise InputError(f"{name} must be one of {', '.join(choices)}, not {shown(value)}")
    return value  # type: ignore[return-value]


def checked(checks: dict[str, Check], given: dict[str, object]) -> dict[str, object]:
    """`given`'s values, each checked by its entry in `checks`, in the table's order."""
    return {name: check(name, given[name]) for name, check in checks.items()}


CHECKS: dict[str, Check] = {
    "motion": whole, "frames": whole, "fps": whole, "seed": whole, "size": text,
    "resize": partial(choice, choices=RESIZE_MODES), "steps": whole, "min_cfg": number_or_none,
    "max_cfg": number_or_none, "noise_aug": number, "decode_chunk": whole,
    "memory": partial(choice, choices=MEMORY_CHOICES), "model": text,
    "camera": partial(choice, choices=tuple(MOVES)), "camera_strength": number_or_none, "camera_amount": number,
    **(FINISH_CHECKS := {
        "extend": whole, "interpolate": whole, "upscale": partial(choice, choices=UPSCALE_CHOICES),
        "loop": partial(choice, choices=LOOPS), "formats": text,
    }),
    "variations": whole,
}  # fmt: skip
"""How each video setting that the API takes is checked, in the order of `Controls`: the finishing ones, then the
variations, last."""

TEXT_CHECKS: dict[str, Check] = {
    "prompt": text, "negative_prompt": text, "style": text, "aspect": partial(choice, choices=tuple(ASPECT_NAMES)),
    "t2i_model": text, "t2i_steps": whole_or_none, "t2i_guidance": number_or_none,
}  # fmt: skip
"""How each setting of a first frame is checked; text to video takes these and the video's (but its size)."""

FIRST_FRAME_CHECKS: dict[str, Check] = {**TEXT_CHECKS, "count": whole, "seed": whole, "model": text}
