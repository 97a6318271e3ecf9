"""What the model will see: the picture fitted to the chosen size, and a line that says the size and the fit.

A file that is not a usable picture is taken out of the picture box (a browser draws it as a broken sliver) and
the line says why. Emptying the box is a change of the picture too, so an empty box leaves the line as it is; the
box's own remove button empties it.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
from PIL import Image

from svd.engine import Engine
from svd.errors import SvdError
from svd.families.catalogue import served_models
from svd.input.image import InputImage
from svd.input.sizing import choose_size, fit_image, parse_size
from svd.settings import Settings

from .uploads import SHOWN_FOR, uploaded_picture


@dataclass(frozen=True)
class Framed:
    picture: InputImage
    size: tuple[int, int]
    fitted: Image.Image
    """The picture at `size`, as the run fits it."""


def framed_picture(
    engine: Engine, settings: Settings, payload: dict | None, size: str, resize: str, model: str
) -> Framed | None:
    """The uploaded picture framed as a run with these settings frames it; None without a picture. A picture or a
    size that cannot be used is an `SvdError`."""
    image = uploaded_picture(payload, linger=SHOWN_FOR)
    if image is None:
        return None
    defaults = engine.source(served_models(settings).name(model or "")).defaults
    chosen = choose_size(image.size, defaults, parse_size(size))
    return Framed(image, chosen, fit_image(image.image, chosen, resize))  # type: ignore[arg-type]


def preview(
    engine: Engine, settings: Settings, picture: dict | None, size: str, resize: str, model: str,
    last: dict | None = None,
) -> tuple[Image.Image | None, str | dict]:  # fmt: skip
    """The picture as "Model sees" shows it (beside the last frame, fitted the same way, when there is one), and the
    line under it. Without a picture the line is left as it is: it may say why the last upload was taken out of the
    box (`refused_upload`)."""
    try:
        framed = framed_picture(engine, settings, picture, size, resize, model)
        ending = uploaded_picture(last, linger=SHOWN_FOR) if framed is not None else None
    except SvdError as error:
        return None, cannot_use(error)
    if framed is None:
        return None, gr.skip()
    (width, height), (from_width, from_height) = framed.size, framed.picture.size
    line = f"The model will see **{width}×{height}** ({resize}, from {from_width}×{from_height})"
    if ending is None:
        return framed.fitted, line + "."
    last_width, last_height = ending.size
    both = side_by_side(framed.fitted, fit_image(ending.image, framed.size, resize))  # type: ignore[arg-type]
    return both, f"{line}, ending on the last frame ({resize}, from {last_width}×{last_height})."


GAP = 8
"""Pixels between the first and the last frame in "Model sees"."""


def side_by_side(first: Image.Image, last: Image.Image) -> Image.Image:
    """The first and the last frame in one picture, with a light gap between them."""
    both = Image.new("RGB", (first.width + GAP + last.width, first.height), (255, 255, 255))
    both.paste(first, (0, 0))
    both.paste(last, (first.width + GAP, 0))
    return both


def refused_upload(payload: dict | None) -> tuple:
    """After an upload: a file that is not a usable picture leaves the box empty, and the line says why."""
    try:
        uploaded_picture(payload, linger=SHOWN_FOR)
    except SvdError as error:
        return None, cannot_use(error)
    return gr.skip(), gr.skip()


def cannot_use(error: SvdError) -> str:
    return f"**Cannot use this:** {error}"
