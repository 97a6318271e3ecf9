"""Switching the model from the page. A model already on disk starts loading at once (the one loaded before keeps
serving until it is ready); one that is not asks first, saying how much it would download."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import gradio as gr
from huggingface_hub import constants

from svd.engine import Engine
from svd.errors import SvdError
from svd.families.catalogue import CATALOGUE, ModelSource, served_models
from svd.families.loading import bytes_to_download, is_downloaded
from svd.settings import Settings

from .choices import AUTO, aspect_choices, frame_range, more_choices


@dataclass
class ModelPicker:
    engine: Engine
    settings: Settings
    row: gr.Row
    text: gr.Markdown
    download: gr.Button
    keep: gr.Button

    @classmethod
    def build(cls, engine: Engine, settings: Settings) -> ModelPicker:
        """The confirmation, hidden until a model that needs a download is picked."""
        with gr.Group(visible=False, elem_id="model-confirm") as row:
            text = gr.Markdown()
            with gr.Row():
                download = gr.Button("Download and load it", variant="primary", elem_id="model-download")
                keep = gr.Button("Keep the current model", elem_id="model-keep")
        return cls(engine, settings, row, text, download, keep)

    def connect(
        self,
        model: gr.Dropdown,
        defaults_outputs: list,
        sizing: list,
        preview_outputs: list,
        show_preview: Callable,
    ) -> None:
        """`defaults_outputs`: aspect, More list, frames, fps, motion, steps and the guidance of the first and last
        frames, which take the new model's defaults;
        `sizing` are `show_preview`'s inputs (the picture first, then the size, the fit, the model and the last
        frame)."""

        def switch(name: str, sizing_values: list) -> list:
            self.engine.load_in_background(name)
            defaults = self.engine.source(name).defaults
            picture, _, _, width, height, resize, model_value, *last = sizing_values
            return [
                gr.Radio(choices=aspect_choices(defaults), value=AUTO),
                gr.Dropdown(choices=more_choices(defaults), value=None),
                gr.Slider(**frame_range(defaults), value=defaults.num_frames), defaults.fps, defaults.motion_bucket_id,
                defaults.num_inference_steps,
                defaults.min_guidance_scale, defaults.max_guidance_scale,
                *show_preview(picture, AUTO, None, width, height, resize, model_value, *last),
            ]  # fmt: skip

        def chosen(value: str, *sizing_values):
            try:
                name = served_models(self.settings).name(value)
                source = self.engine.source(name)
            except SvdError as error:
                gr.Warning(str(error))
                return [gr.skip()] * (3 + len(defaults_outputs) + len(preview_outputs))
            if not is_downloaded(source):
                question, can_download = self.download_question(source)
                unchanged = [gr.skip()] * (len(defaults_outputs) + len(preview_outputs))
                return gr.Group(visible=True), question, gr.Button(visible=can_download), *unchanged
            return gr.Group(visible=False), gr.skip(), gr.skip(), *switch(name, list(sizing_values))

        def confirmed(value: str, *sizing_values):
            name = served_models(self.settings).name(value)
            return gr.Group(visible=False), *switch(name, list(sizing_values))

        def kept():
            return gr.Group(visible=False), self.engine.loaded_model or self.settings.model

        private = dict(api_visibility="private", preprocess=False)
        updated = [*defaults_outputs, *preview_outputs]
        model.input(chosen, [model, *sizing], [self.row, self.text, self.download, *updated], **private)
        self.download.click(confirmed, [model, *sizing], [self.row, *updated], **private)
        self.keep.click(kept, outputs=[self.row, model], **private)

    def download_question(self, source: ModelSource) -> tuple[str, bool]:
        title = CATALOGUE[source.name].title if source.name in CATALOGUE else source.name
        try:
            size = bytes_to_download(source)
        except SvdError as error:
            return f"**{title}** is not on this server, and it cannot be downloaded now: {error}", False
        return (
            f"**{title}** is not on this server yet. Loading it downloads **{_size_text(size)}** into "
            f"`{constants.HF_HUB_CACHE}`; the current model keeps working meanwhile.",
            True,
        )


def _size_text(size: int) -> str:
    return f"{size / 1e9:.1f} GB" if size >= 1e9 else f"{size / 1e6:.1f} MB"
