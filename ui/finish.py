"""The Finish section of the Create tab: a longer shot, smoother motion, a larger size, a loop and more formats, with
the video they lead to (frames, fps, size, length) shown before Generate. "Finish this video" in the result area
applies the same choices to the model's own frames of the video shown there, without generating again: its earlier
finishing is replaced, not stacked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import gradio as gr
from PIL import Image

from svd.errors import InputError, SvdError
from svd.finish.options import MAX_SEGMENTS, FinishOptions, describe_shape, finished_shape
from svd.models.entries import ModelDefaults

from .generation import Runner
from .result import shown, with_info
from .text import error_text, result_text

HELP = {
    "extend": "Chains segments into a longer shot: each starts from the last frame of the one before (seed + 1, "
    "+ 2, ...), with its colours kept to the first. Each segment takes as long as one video.",
    "interpolate": "Makes in-between frames (RIFE) so the video plays smoothly at 2-4 times the fps; the model still "
    "animates at the fps above.",
    "upscale": "Real-ESRGAN, then resized to the exact size: 1080p and 4K fit 1920×1080 and 3840×2160 (turned for "
    "portrait).",
    "loop": "Boomerang plays forward then back; crossfade blends the end into the start. Either loops without a jump.",
    "formats": "The MP4 is always made; GIFs are at most 640 px wide.",
}
INTERPOLATE_CHOICES = [("Off", 1), ("×2", 2), ("×3", 3), ("×4", 4)]
UPSCALE_CHOICES = [("Off", "none"), ("×2", "2"), ("×4", "4"), ("1080p", "1080p"), ("4K", "4k")]
LOOP_CHOICES = [("Off", "none"), ("Boomerang", "boomerang"), ("Crossfade", "crossfade")]
FORMAT_CHOICES = [("WebM", "webm"), ("GIF", "gif"), ("WebP", "webp")]
CHOOSE_FIRST = "Choose how to finish it first (smooth motion, an upscale, a loop or another format): Finish is open."
NOTHING_SHOWN = "no video to finish yet: generate one, or pick one in the History tab and press Finish this video"


@dataclass
class FinishSection:
    accordion: gr.Accordion
    extend: gr.Slider
    interpolate: gr.Radio
    upscale: gr.Radio
    loop: gr.Radio
    formats: gr.CheckboxGroup
    shape: gr.Markdown

    @property
    def values(self) -> list:
        """The controls that hold a run's finishing, in `Controls` order."""
        return [self.extend, self.interpolate, self.upscale, self.loop, self.formats]


def build_finish(defaults: ModelDefaults) -> FinishSection:
    with gr.Accordion("Finish: longer, smoother, larger, looped", open=False, elem_id="finish") as accordion:
        extend = gr.Slider(
            1, MAX_SEGMENTS, value=1, step=1, label="Extend (segments)", info=HELP["extend"], elem_id="extend"
        )
        interpolate = gr.Radio(
            INTERPOLATE_CHOICES, value=1, label="Smooth motion", info=HELP["interpolate"], elem_id="interpolate"
        )
        upscale = gr.Radio(UPSCALE_CHOICES, value="none", label="Upscale", info=HELP["upscale"], elem_id="upscale")
        loop = gr.Radio(LOOP_CHOICES, value="none", label="Loop", info=HELP["loop"], elem_id="loop")
        formats = gr.CheckboxGroup(
            FORMAT_CHOICES, value=[], label="Also save as", info=HELP["formats"], elem_id="formats"
        )
        shape = gr.Markdown(
            shape_text(defaults.num_frames, defaults.fps, None, defaults, 1, 1, "none", "none"), elem_id="finish-shape"
        )
    return FinishSection(accordion, extend, interpolate, upscale, loop, formats, shape)


def options_from(extend, interpolate, upscale, loop, formats) -> FinishOptions:
    """The section's values as finishing options (the formats as the CheckboxGroup gives them)."""
    return FinishOptions(
        interpolate=int(interpolate), upscale=upscale, loop=loop, extend=int(extend), formats=("mp4", *formats)
    )


def shape_text(
    frames: float, fps: float, framed: Image.Image | None, defaults: ModelDefaults, extend, interpolate, upscale, loop
) -> str:
    """The video that Generate will make: the framed picture's size (the model's default before there is one)."""
    width, height = framed.size if framed is not None else (defaults.width, defaults.height)
    options = FinishOptions(interpolate=int(interpolate), upscale=upscale, loop=loop, extend=int(extend))
    shape = finished_shape(int(frames), int(fps), width, height, options)
    changed = options != FinishOptions()
    return f"**{'Finished video' if changed else 'Video'}:** {describe_shape(shape)}"


def connect_finish(section: FinishSection, frames: gr.Slider, fps: gr.Slider, framed: gr.Image, defaults) -> None:
    inputs = [frames, fps, framed, section.extend, section.interpolate, section.upscale, section.loop]

    def shown(frames, fps, framed, extend, interpolate, upscale, loop):
        return shape_text(frames, fps, framed, defaults, extend, interpolate, upscale, loop)

    for control in inputs:
        control.change(shown, inputs, section.shape, show_progress="hidden", api_visibility="private")


def finish_run(runner: Runner) -> Callable:
    """Finish this video: the video in the result area (its record) with the Finish section's choices."""

    async def finish_on_page(
        request: gr.Request,
        record,
        extend,
        interpolate,
        upscale,
        loop,
        formats,
        progress=gr.Progress(),  # noqa: B008
    ):
        try:
            if record is None:
                raise InputError(NOTHING_SHOWN)
            if int(extend) > 1:
                gr.Info("Extend is left out here: it animates new segments, so it needs Generate.")
            options = options_from(1, interpolate, upscale, loop, formats)
            if options == FinishOptions():
                gr.Info(CHOOSE_FIRST)
                return *as_it_was(record), gr.Accordion(open=True)
            saved = await runner.finish(record["sidecar"], options, progress, user=request.username)
        except SvdError as error:
            return *not_finished(error), gr.skip()
        return *shown(None if saved is None else [saved]), gr.skip()

    return finish_on_page


def as_it_was(record: dict) -> tuple:
    """The result area as before the press: the video it shows, with its settings line."""
    return with_info(gr.Markdown(result_text(record), elem_classes=[]))


def not_finished(error: SvdError) -> tuple:
    """The result area after a failed finish: the video it was for stays, with why under it."""
    return with_info(gr.Markdown(error_text(str(error), "Not finished"), elem_classes=["run-error"]))
