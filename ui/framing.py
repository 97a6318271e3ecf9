"""The picture and how it is framed: the upload, the last frame for a model that ends on one, the examples, what the
model will see (both pictures, side by side, when there is a last frame), the aspect and the fit."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from svd.engine import Engine
from svd.errors import SvdError
from svd.families.catalogue import served_models
from svd.input.sizing import RESIZE_MODES
from svd.models.entries import ModelDefaults
from svd.settings import Settings

from .choices import AUTO, CUSTOM, MORE, aspect_choices, more_choices, size_spec
from .examples import example_pictures
from .preview import preview

LAST_FRAME_LABEL = {"optional": "Last frame", "required": "Last frame ✱"}
"""The last frame's box, by what the model does with one (`ModelDefaults.last_frame`; ✱: it needs one, and says so
when Generate is pressed without); hidden for `no`. Short: the box is a third of the column."""


@dataclass
class Framing:
    picture: gr.Image
    last_frame: gr.Image
    """The picture the video should end on, for a model that takes one."""
    framed: gr.Image
    notice: gr.Markdown
    aspect: gr.Radio
    resize: gr.Dropdown
    more_row: gr.Row
    more_size: gr.Dropdown
    width: gr.Number
    height: gr.Number
    examples: gr.Examples | None

    @property
    def size_controls(self) -> list:
        """The controls that `choices.size_spec` turns into a size, in its order."""
        return [self.aspect, self.more_size, self.width, self.height]

    @property
    def preview_outputs(self) -> list:
        return [self.framed, self.notice]


def build_framing(defaults: ModelDefaults) -> Framing:
    with gr.Row():
        picture = gr.Image(
            label="Picture", type="filepath", sources=["upload", "clipboard"], height=220, scale=3, min_width=150,
            elem_id="picture",
        )  # fmt: skip
        last_frame = gr.Image(
            label=LAST_FRAME_LABEL.get(defaults.last_frame, ""), type="filepath", sources=["upload", "clipboard"],
            height=220, scale=2, min_width=120, visible=defaults.last_frame != "no", elem_id="last-frame",
        )  # fmt: skip
        framed = gr.Image(
            label="Model sees", type="pil", interactive=False, height=220, scale=2, min_width=120,
            buttons=["fullscreen"], elem_id="framed",
        )  # fmt: skip
    notice = gr.Markdown(elem_id="notice")
    pictures = example_pictures()
    examples = None
    if pictures:
        examples = gr.Examples(pictures, inputs=picture, label="Or try an example", elem_id="examples")
    with gr.Row():
        aspect = gr.Radio(aspect_choices(defaults), value=AUTO, label="Aspect", scale=4, elem_id="aspect")
        resize = gr.Dropdown(list(RESIZE_MODES), value="crop", label="Fit", scale=1, min_width=110, elem_id="fit")
    with gr.Row(visible=False) as more_row:
        more_size = gr.Dropdown(more_choices(defaults), label="More sizes", min_width=160, elem_id="more-size")
        width = gr.Number(defaults.width, label="Width", precision=0, minimum=64, visible=False, elem_id="width")
        height = gr.Number(defaults.height, label="Height", precision=0, minimum=64, visible=False, elem_id="height")
    return Framing(picture, last_frame, framed, notice, aspect, resize, more_row, more_size, width, height, examples)


def sizing_of(framing: Framing, model: gr.Dropdown) -> list:
    """What "Model sees" of the first picture is made from: the picture, the size controls, the fit and the model."""
    return [framing.picture, *framing.size_controls, framing.resize, model]


def connect_framing(framing: Framing, engine: Engine, settings: Settings, model: gr.Dropdown):
    """Keep the preview in step with the picture, the size, the fit and the model; returns the preview function
    (the model picker redraws it after a switch)."""

    def show_preview(picture, aspect, more_size, width, height, resize, model, last=None):
        size = size_spec(aspect, more_size, width, height)
        return preview(engine, settings, picture, size, resize, model, last)

    def follow(value: str):
        """A model that takes no last frame hides the box and empties it (it would be refused); the others name it."""
        try:
            taken = engine.source(served_models(settings).name(value)).defaults.last_frame
        except SvdError:
            return gr.skip()
        if taken == "no":
            return gr.Image(visible=False, value=None)
        return gr.Image(visible=True, label=LAST_FRAME_LABEL[taken])

    private = dict(api_visibility="private")
    sizing = [*sizing_of(framing, model), framing.last_frame]
    for control in (framing.picture, framing.last_frame, *framing.size_controls, framing.resize):
        control.change(
            show_preview, sizing, framing.preview_outputs, show_progress="hidden", preprocess=False, **private
        )
    model.change(follow, model, framing.last_frame, show_progress="hidden", **private)
    framing.aspect.change(lambda choice: gr.Row(visible=choice == MORE), framing.aspect, framing.more_row, **private)
    framing.more_size.change(
        lambda choice: (gr.Number(visible=choice == CUSTOM), gr.Number(visible=choice == CUSTOM)),
        framing.more_size, [framing.width, framing.height], **private,
    )  # fmt: skip
    return show_preview
