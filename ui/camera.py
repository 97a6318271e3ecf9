"""The Camera section of the Create tab: the moves as a radio and as looping previews made from the user's own
picture, and the move's strength and amount, each with a sentence that says what it does.

A tile or a radio button picks a move, and the strength then takes that move's default. The previews follow the
picture and its framing ("Model sees"), the run's length and the amount; a failure shows one line, never an error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import gradio as gr

from svd.camera.moves import AMOUNT_RANGE, MOVES, NO_CAMERA, STRENGTH_RANGE
from svd.errors import first_line

from .camera_previews import NO_PICTURE, CameraPreviews, move_label
from .choices import size_spec

log = logging.getLogger("svd.webui")

HELP = {
    "camera": "How the camera moves: the video follows a rough guide of the move made from your picture (shown "
    "below; greyed areas are new to the camera, and the model paints them). None leaves the camera to the model.",
    "camera_strength": "0 ignores the move, 1 copies its guide; each move has its own default.",
    "camera_amount": "How far the camera goes: 1 is the move's usual distance, 2 twice as far.",
}
CAMERA_CSS = """
#camera-previews .grid-wrap { min-height: 0; max-height: none; overflow: visible; padding: 0; }
#camera-previews .grid-container { grid-template-columns: repeat(auto-fill, minmax(88px, 1fr));
  grid-template-rows: none; grid-auto-rows: auto; gap: 6px; }
#camera-previews .thumbnail-item { aspect-ratio: auto; height: auto; }
#camera-previews .thumbnail-item > img { height: auto; }
#camera-previews .caption-label { position: static; max-width: none; border: 0; background: none; text-align: center;
  padding: 2px 0; opacity: 1; }
@media (max-width: 640px) {
  #camera-previews .grid-container { grid-template-columns: repeat(4, minmax(0, 1fr)); }
}
"""
"""The previews as a grid of tiles as tall as their pictures (a gallery's tiles are square and its height fixed),
with the name under each: six a row on a laptop, four on a phone."""
MOVE_NAMES = list(MOVES)
"""The moves in the order of the radio and of the preview tiles."""


@dataclass
class CameraSection:
    move: gr.Radio
    about: gr.Markdown
    previews: gr.Gallery
    notice: gr.Markdown
    strength: gr.Slider
    amount: gr.Slider

    @property
    def values(self) -> list:
        """The controls that hold a run's camera settings, in `Controls` order."""
        return [self.move, self.strength, self.amount]


def build_camera() -> CameraSection:
    with gr.Column(elem_id="camera"):
        move = gr.Radio(
            [(move_label(name), name) for name in MOVE_NAMES], value=NO_CAMERA, label="Camera", info=HELP["camera"],
            elem_id="camera-move",
        )  # fmt: skip
        notice = gr.Markdown(NO_PICTURE, elem_id="camera-notice", padding=True)
        previews = gr.Gallery(
            show_label=False, columns=6, height="auto", object_fit="contain", allow_preview=False, buttons=[],
            interactive=False, visible=False, elem_id="camera-previews",
        )  # fmt: skip
        about = gr.Markdown(about_text(NO_CAMERA), elem_id="camera-about", padding=True)
        with gr.Row():
            strength = gr.Slider(
                *STRENGTH_RANGE, value=MOVES[NO_CAMERA].strength, step=0.05, label="Camera strength",
                info=HELP["camera_strength"], interactive=False, min_width=200, elem_id="camera-strength",
            )  # fmt: skip
            amount = gr.Slider(
                *AMOUNT_RANGE, value=1.0, step=0.1, label="Camera amount", info=HELP["camera_amount"],
                interactive=False, min_width=200, elem_id="camera-amount",
            )  # fmt: skip
    return CameraSection(move, about, previews, notice, strength, amount)


def about_text(name: str) -> str:
    """What the chosen move does, and its travel and default strength."""
    move = MOVES[name]
    if name == NO_CAMERA:
        return f"**{move_label(name)}**: no guide; the model moves the camera as it likes (plain SVD)."
    return f"**{move_label(name)}**: {move.summary}; {move.travel} at amount 1, default strength {move.strength:g}."


def connect_camera(
    camera: CameraSection, previews: CameraPreviews, framing_inputs: list, framed: gr.Image, length: list
) -> None:
    """`framing_inputs`: the picture, the size controls, the fit and the model (what "Model sees" is made from);
    `framed`: that picture; `length`: the frames and fps sliders."""
    private = dict(api_visibility="private")

    def picked(event: gr.SelectData):
        name = MOVE_NAMES[event.index]
        return name, _strength(name)

    def shown(name: str):
        moving = name != NO_CAMERA
        return (
            about_text(name), gr.Slider(interactive=moving), gr.Slider(interactive=moving),
            gr.Gallery(selected_index=MOVE_NAMES.index(name)),
        )  # fmt: skip

    camera.move.input(_strength, camera.move, camera.strength, show_progress="hidden", **private)
    camera.previews.select(picked, outputs=[camera.move, camera.strength], show_progress="hidden", **private)
    camera.move.change(
        shown, camera.move, [camera.about, camera.strength, camera.amount, camera.previews], show_progress="hidden",
        **private,
    )  # fmt: skip

    def tiles(with_depth: bool):
        def made(picture, aspect, more_size, width, height, resize, model, frames, fps, amount, name):
            try:
                size = size_spec(aspect, more_size, width, height)
                result = previews.tiles(picture, size, resize, model, frames, fps, amount, with_depth)
            except Exception as error:  # a preview must never break the page
                log.warning(f"no camera previews: {first_line(error)}")
                return gr.Gallery(visible=False), _notice(f"*No camera previews: {first_line(error)}*")
            if result.items is None:
                return gr.Gallery(value=None, visible=False), _notice(result.message)
            selected = MOVE_NAMES.index(name) if name in MOVES else None
            return gr.Gallery(value=result.items, visible=True, selected_index=selected), _notice(result.message)

        return made

    inputs = [*framing_inputs, *length, camera.amount, camera.move]
    outputs = [camera.previews, camera.notice]
    quiet = dict(show_progress="hidden", preprocess=False, trigger_mode="always_last", **private)
    for trigger in (framed, *length, camera.amount):
        flat = trigger.change(tiles(with_depth=False), inputs, outputs, **quiet)
        flat.then(tiles(with_depth=True), inputs, outputs, **quiet)


def _notice(message: str) -> gr.Markdown:
    return gr.Markdown(message, visible=bool(message))


def _strength(name: str) -> float:
    """A newly picked move's default strength."""
    return MOVES[name].strength
