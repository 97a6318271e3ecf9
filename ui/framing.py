"""The picture and how it is framed: the upload, the examples, what the model will see, the aspect and the fit."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from svd.engine import Engine
from svd.input.sizing import RESIZE_MODES
from svd.models.entries import ModelDefaults
from svd.settings import Settings

from .choices import AUTO, CUSTOM, MORE, aspect_choices, more_choices, size_spec
from .examples import example_pictures
from .preview import preview


@dataclass
class Framing:
    picture: gr.Image
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
    return Framing(picture, framed, notice, aspect, resize, more_row, more_size, width, height, examples)


def connect_framing(framing: Framing, engine: Engine, settings: Settings, model: gr.Dropdown):
    """Keep the preview in step with the picture, the size, the fit and the model; returns the preview function
    (the model picker redraws it after a switch)."""

    def show_preview(picture, aspect, more_size, width, height, resize, model):
        return preview(engine, settings, picture, size_spec(aspect, more_size, width, height), resize, model)

    private = dict(api_visibility="private")
    sizing = [framing.picture, *framing.size_controls, framing.resize, model]
    for control in (framing.picture, *framing.size_controls, framing.resize):
        control.change(
            show_preview, sizing, framing.preview_outputs, show_progress="hidden", preprocess=False, **private
        )
    framing.aspect.change(lambda choice: gr.Row(visible=choice == MORE), framing.aspect, framing.more_row, **private)
    framing.more_size.change(
        lambda choice: (gr.Number(visible=choice == CUSTOM), gr.Number(visible=choice == CUSTOM)),
        framing.more_size, [framing.width, framing.height], **private,
    )  # fmt: skip
    return show_preview
