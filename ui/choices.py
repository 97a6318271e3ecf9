"""The choices the page offers for the size and the model, and how a choice becomes what the engine takes."""

from __future__ import annotations

from svd.families.catalogue import CATALOGUE, find_local_models
from svd.input.sizing import ASPECT_NAMES, buckets
from svd.models.entries import ModelDefaults
from svd.request import LIMITS
from svd.settings import Settings

AUTO, MORE, CUSTOM = "auto", "more", "custom"
PICTURE, TEXT = "Picture", "Text"
"""Where the video's picture comes from: an upload, or first frames made from a prompt."""
MAIN_ASPECTS = 3
"""16:9, 9:16 and 1:1 get buttons of their own; the other buckets and a custom size are under "More"."""


def aspect_choices(defaults: ModelDefaults) -> list[tuple[str, str]]:
    named = [
        (name, f"{width}x{height}") for name, (width, height) in zip(ASPECT_NAMES, buckets(defaults), strict=True)
    ]
    return [("Auto", AUTO), *named[:MAIN_ASPECTS], ("More…", MORE)]


def more_choices(defaults: ModelDefaults) -> list[tuple[str, str]]:
    named = [
        (f"{name} ({width}×{height})", f"{width}x{height}")
        for name, (width, height) in zip(ASPECT_NAMES, buckets(defaults), strict=True)
    ]
    return [*named[MAIN_ASPECTS:], ("Custom size", CUSTOM)]


def size_spec(aspect: str, more_size: str | None, width: float | None, height: float | None) -> str:
    """The size as `parse_size` takes it: auto, or WxH from an aspect button, the More list or the custom size."""
    if aspect != MORE:
        return aspect
    if more_size == CUSTOM:
        return f"{int(width or 0)}x{int(height or 0)}"
    return more_size or AUTO


def size_controls(defaults: ModelDefaults, size_choice: str) -> tuple[str, str | None, int | None, int | None]:
    """The aspect, More-list, width and height values that give back `size_choice` (auto or a WxH)."""
    if size_choice in (value for _, value in aspect_choices(defaults)):
        return size_choice, None, None, None
    if size_choice in (value for _, value in more_choices(defaults)):
        return MORE, size_choice, None, None
    width, height = (int(side) for side in size_choice.split("x"))
    return MORE, CUSTOM, width, height


def model_choices(settings: Settings) -> list[tuple[str, str]]:
    """The catalogue, each model folder in the models folder, and the server's own model if it is neither."""
    choices = [(entry.title, entry.id) for entry in CATALOGUE.values()]
    choices += [(f"{folder.name} (local)", str(folder)) for folder in find_local_models(settings.models_dir)]
    if settings.model not in [value for _, value in choices]:
        choices.append((f"{settings.model.rstrip('/').split('/')[-1]} (this server's model)", settings.model))
    return choices


def frame_range(defaults: ModelDefaults) -> dict:
    """The Length slider's range and step for a model: frame counts it takes (1 + a multiple of its frame step, 2
    or more), up to 64 or its own default if longer (Wan TI2V makes 121)."""
    step = defaults.frame_step
    longest = min(max(64, defaults.num_frames), int(LIMITS["num_frames"][1]))
    return dict(minimum=2 if step == 1 else 1 + step, maximum=(longest - 1) // step * step + 1, step=step)
