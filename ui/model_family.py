"""The page follows the chosen model's family: a box that describes the motion for a family that takes text, the
settings only some families take (SVD's motion, noise augmentation and first-frame guidance) shown only for it, one
guidance slider for a family without a guidance ramp, and a line under the model list that says what the model is.

Everything here asks the family's kind (`svd.families.catalogue.KINDS`: `takes_text`, `own_settings`), never its
name, so a new family needs nothing here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial

import gradio as gr

from svd.engine import Engine
from svd.errors import SvdError
from svd.families.catalogue import CATALOGUE, KINDS, ModelSource, served_models
from svd.models.entries import FamilyKind
from svd.settings import Settings

from .generation import Controls
from .text import length_text

PAGE_CONTROLS = {"motion_bucket_id": "motion", "noise_aug_strength": "noise_aug", "min_guidance_scale": "min_cfg"}
"""The page's control (a `Controls` field, and the `RunSettings` attribute of its slider) for each request setting
that only some families take (`FamilyKind.own_settings`)."""
if not set(PAGE_CONTROLS).issuperset(set().union(*(kind.own_settings for kind in KINDS.values()))):
    raise RuntimeError("ui.model_family.PAGE_CONTROLS must name the page's control of every family's own settings")

RAMP_START = "min_guidance_scale"
"""A family that takes this guides the first frames and the last apart; the others take one guidance value."""

FamilyOf = Callable[[str], FamilyKind | None]
"""The family of the model a page's model list value names (None: no model the server offers)."""


def _titles(takes_text: bool, verb: str) -> str:
    """The families that take text (or not) and `verb`, agreeing: "Wan follows", "Wan and LTX-Video follow"."""
    titles = [kind.title for kind in KINDS.values() if kind.takes_text == takes_text] or ["no model"]
    return f"{' and '.join(titles)} {verb if len(titles) == 1 else verb.removesuffix('s')}"


HELP = {
    "prompt": f"What should happen in the video: {_titles(True, 'follows')} it; {_titles(False, 'takes')} no text.",
    "negative_prompt": "What the video should not show: blur, flicker, a still picture, low quality…",
}
GUIDANCE = {
    True: ("Guidance, last frame", "How closely the last frames follow the picture: higher keeps it, too high "
           "over-sharpens."),
    False: ("Guidance", "How closely the video follows the picture and the prompt: higher follows them more, too "
            "high over-sharpens."),
}  # fmt: skip
"""The label and help of the last frame's guidance slider, by whether the family ramps guidance from a first frame's
value (else that slider is its one guidance value)."""


def family_of(engine: Engine, settings: Settings, value: str) -> FamilyKind | None:
    """The family of the model the page's model list value `value` names; None if the server does not offer it."""
    try:
        return KINDS[engine.source(served_models(settings).name(value)).defaults.family]
    except (SvdError, KeyError):
        return None


def family_finder(engine: Engine, settings: Settings) -> FamilyOf:
    return partial(family_of, engine, settings)


def for_family(controls: Controls, kind: FamilyKind | None) -> Controls:
    """`controls` with None (the model's own) for each setting `kind` does not take, and no prompt for a family
    that takes no text; unchanged for an unknown model (the engine then says what is wrong)."""
    if kind is None:
        return controls
    left_out = {field: None for key, field in PAGE_CONTROLS.items() if key not in kind.own_settings}
    if not kind.takes_text:
        left_out |= {"prompt": None, "negative_prompt": None}
    if kind.lora_keys is None:
        left_out |= {"loras": ()}
    return replace(controls, **left_out)


def build_motion_prompt(kind: FamilyKind) -> gr.Textbox:
    """The box that describes the video, for a family that takes text (at the top of the run's settings)."""
    return gr.Textbox(
        label="Describe the motion", info=HELP["prompt"], lines=2, visible=kind.takes_text,
        placeholder="the waves roll in and the camera slowly pushes towards the lighthouse", elem_id="motion-prompt",
    )  # fmt: skip


def build_negative_prompt(kind: FamilyKind) -> gr.Textbox:
    return gr.Textbox(
        label="Negative prompt (video)", info=HELP["negative_prompt"], lines=1, visible=kind.takes_text,
        placeholder="blurred, static, low quality", elem_id="motion-negative-prompt",
    )  # fmt: skip


def guidance_words(kind: FamilyKind) -> dict[str, str]:
    """The label and info of the last frame's guidance slider for `kind`."""
    label, info = GUIDANCE[RAMP_START in kind.own_settings]
    return {"label": label, "info": info}


def model_about(source: ModelSource, kind: FamilyKind) -> str:
    """One line under the model list: the model's family, what it makes by default, whether it follows a prompt,
    and what the catalogue says of it (licence, size, memory)."""
    defaults = source.defaults
    made = (
        f"{defaults.num_frames} frames at {defaults.width}×{defaults.height}, {defaults.fps} fps, "
        f"{defaults.num_inference_steps} steps"
    )
    text = "follows a prompt" if kind.takes_text else "takes no prompt"
    entry = CATALOGUE.get(source.name)
    facts = entry.facts if entry is not None else ("a model folder on this server" if source.is_local else "")
    return " · ".join(part for part in (f"**{kind.title}**", made, text, facts) if part)


def about_text(engine: Engine, settings: Settings, value: str) -> str:
    """`model_about` of the model the list value `value` names; empty if the server does not offer it."""
    try:
        source = engine.source(served_models(settings).name(value))
        return model_about(source, KINDS[source.defaults.family])
    except (SvdError, KeyError):
        return ""


def family_length(family: FamilyOf) -> Callable:
    """The length line's function of the motion, frames, fps and model: motion words only for a family that takes
    the motion setting."""

    def length(motion: float, frames: float, fps: float, model: str) -> str:
        kind = family(model)
        takes_motion = kind is None or "motion_bucket_id" in kind.own_settings
        return length_text(motion if takes_motion else None, frames, fps)

    return length
