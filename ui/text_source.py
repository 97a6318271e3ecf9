"""The Text source of the Create tab: a prompt, a negative prompt and a style become first frames, and the one the
person picks becomes the picture, so the preview, the fit, the camera previews and Generate work on it as on an
upload (and the run records the text). Text to video makes one first frame and animates it at once.

First frames are made on the GPU queue, never beside a generation. A mistake is one line under the buttons.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import gradio as gr

from svd.camera.moves import MOVES
from svd.errors import SvdError
from svd.request import TextSource
from svd.text.first_frames import MAX_CANDIDATES
from svd.text.styles import PLACEHOLDER, Style

from .camera import CameraSection
from .camera_previews import move_label
from .candidates import Candidate, CandidateMaker, TextRequest, text_to_video
from .choices import PICTURE, TEXT
from .framing import Framing
from .generation import MadeFromText, Runner
from .model_family import family_finder
from .result import failed, page_controls, shown
from .status import GPU_QUEUE
from .text import from_text

TEXT_CSS = """
#style .wrap { display: grid; grid-template-columns: repeat(auto-fill, minmax(104px, 1fr)); gap: 6px; }
#style .wrap > label { position: relative; margin: 0; justify-content: center; text-align: center; padding: 6px 4px; }
#style .wrap > label > input { position: absolute; inset: 0; width: 100%; height: 100%; margin: 0; opacity: 0;
  cursor: pointer; }
#style .wrap > label > span { margin: 0; }
#style .wrap > label.selected { border-color: var(--color-accent); background: var(--color-accent-soft);
  box-shadow: inset 0 0 0 1px var(--color-accent); font-weight: 600; }
#style .wrap > label:focus-within { outline: 2px solid var(--color-accent); }
#first-frames .grid-wrap { min-height: 0; max-height: none; overflow: visible; }
#first-frames .grid-container { grid-template-columns: repeat(4, minmax(0, 1fr)); grid-template-rows: none;
  grid-auto-rows: auto; }
#first-frames .thumbnail-item { aspect-ratio: auto; height: auto; }
#first-frames .thumbnail-item > img { height: auto; }
@media (max-width: 640px) {
  #style .wrap { grid-template-columns: repeat(3, minmax(0, 1fr)); }
  #first-frames .grid-container { grid-template-columns: repeat(2, minmax(0, 1fr)); }
}
"""
"""Style cards: titles in a grid (three a row on a phone), the picked one highlighted instead of a radio dot; and
candidates as tall as their pictures, four a row (two on a phone)."""
HELP = {
    "prompt": "What the first frame shows, in plain words: the style adds its own.",
    "made": "First frames are made at the **Aspect** below (Auto: 16:9), from the **Seed** below (+1, +2… for the "
    "next ones). Pick one and it becomes the picture.",
}


@dataclass
class TextPanel:
    source: gr.Radio
    panel: gr.Column
    prompt: gr.Textbox
    negative_prompt: gr.Textbox
    style: gr.Radio
    style_about: gr.Markdown
    count: gr.Number
    make: gr.Button
    text_to_video: gr.Button
    notice: gr.Markdown
    first_frames: gr.Gallery
    candidates: gr.State
    """The `Candidate`s the gallery shows, in its order."""
    made: gr.State
    """The `MadeFromText` of the last first frame put into the picture box (None until one is)."""

    @property
    def text_values(self) -> list:
        return [self.prompt, self.negative_prompt, self.style]

    @property
    def reused(self) -> list:
        """The controls that `text_from` gives values for."""
        return [self.source, *self.text_values, self.made]


def build_source() -> gr.Radio:
    return gr.Radio([PICTURE, TEXT], value=PICTURE, label="Start from", elem_id="source")


def build_text_panel(source: gr.Radio, styles: dict[str, Style], styles_problem: str) -> TextPanel:
    with gr.Column(visible=False, elem_id="text-source") as panel:
        prompt = gr.Textbox(
            label="Prompt", info=HELP["prompt"], lines=2, placeholder="a lighthouse on a cliff at dusk, waves below",
            elem_id="prompt",
        )  # fmt: skip
        negative_prompt = gr.Textbox(
            label="Negative prompt", placeholder="what it should not show", lines=1, elem_id="negative-prompt"
        )
        style = gr.Radio(
            [(preset.title, preset.name) for preset in styles.values()], value="none", label="Style", elem_id="style"
        )
        style_about = gr.Markdown(about_style(styles["none"]), elem_id="style-about")
        with gr.Row():
            count = gr.Number(
                4, label="How many", precision=0, minimum=1, maximum=MAX_CANDIDATES, scale=1, min_width=90,
                elem_id="count",
            )  # fmt: skip
            make = gr.Button("Make first frames", scale=2, min_width=140, elem_id="make-first-frames")
            text_to_video = gr.Button("Text to video", scale=2, min_width=140, elem_id="text-to-video")
        gr.Markdown(HELP["made"], elem_id="first-frames-help")
        notice = gr.Markdown(
            styles_problem and f"**{styles_problem}**", elem_classes=["run-error"] if styles_problem else None,
            elem_id="text-notice",
        )  # fmt: skip
        first_frames = gr.Gallery(
            label="First frames", columns=4, height="auto", object_fit="contain", allow_preview=False, buttons=[],
            interactive=False, visible=False, elem_id="first-frames",
        )  # fmt: skip
    return TextPanel(
        source, panel, prompt, negative_prompt, style, style_about, count, make, text_to_video, notice, first_frames,
        gr.State([]), gr.State(None),
    )  # fmt: skip


def about_style(style: Style) -> str:
    """What a style does to the prompt, and the motion and camera it suggests (set when it is picked)."""
    template = style.prompt.replace(PLACEHOLDER, "*your prompt*")
    suggested = [f"motion {style.motion}" if style.motion else "", _camera_words(style.camera)]
    suggestions = " and ".join(part for part in suggested if part)
    return f"**{style.title}**: {template}" + (f" · sets {suggestions}" if suggestions else "")


def _camera_words(camera: str | None) -> str:
    return f"the camera to {move_label(camera)}" if camera else ""


def connect_text_panel(
    text: TextPanel, maker: CandidateMaker, framing: Framing, controls: list, camera: CameraSection, motion: gr.Slider
) -> None:
    """`controls`: the Create tab's controls in `reuse.controls_from` order (the size, the model, the seed...)."""
    private = dict(api_visibility="private")
    text.source.change(
        lambda source: (gr.Column(visible=source == TEXT), gr.Dataset(visible=source != TEXT)),
        text.source, [text.panel, framing.examples.dataset] if framing.examples else [text.panel], **private,
    )  # fmt: skip
    text.style.change(lambda name: about_style(maker.styles[name]), text.style, text.style_about, **private)
    text.style.input(_suggested(maker), text.style, [motion, camera.move, camera.strength], **private)

    started = text.make.click(
        lambda: (gr.Button("Making…", interactive=False), gr.Gallery(visible=True)),
        outputs=[text.make, text.first_frames], queue=False, **private,
    )  # fmt: skip
    made = started.then(
        _first_frames_run(maker), [*text.text_values, text.count, text.candidates, *controls],
        [text.first_frames, text.candidates, text.notice], concurrency_limit=maker.pool.size,
        concurrency_id=GPU_QUEUE,
        show_progress_on=text.first_frames, **private,
    )  # fmt: skip
    made.then(lambda: gr.Button("Make first frames", interactive=True), outputs=text.make, **private)
    text.first_frames.select(_pick, text.candidates, [framing.picture, text.made], **private)


def _suggested(maker: CandidateMaker) -> Callable:
    def suggested(name: str):
        style = maker.styles[name]
        camera = style.camera if style.camera in MOVES else None
        return (
            gr.skip() if style.motion is None else style.motion,
            gr.skip() if camera is None else camera,
            gr.skip() if camera is None else MOVES[camera].strength,
        )

    return suggested


def _request(prompt: str, negative_prompt: str, style: str, count: float | None, values: tuple) -> TextRequest:
    """What the text controls and the Create tab's controls ask first frames for."""
    controls = page_controls(*values)
    return TextRequest(
        prompt=prompt or "", negative_prompt=negative_prompt or "", style=style, shape=controls.size,
        count=int(count or 0), seed=controls.seed, model=controls.model, memory=controls.memory,
    )  # fmt: skip


def _first_frames_run(maker: CandidateMaker) -> Callable:
    def first_frames_on_page(
        request: gr.Request, prompt, negative_prompt, style, count, shown_before, *values,
        progress=gr.Progress(),  # noqa: B008
    ):  # fmt: skip
        try:
            made = maker.make(_request(prompt, negative_prompt, style, count, values), progress, request.username)
        except SvdError as error:
            return gr.Gallery(visible=bool(shown_before)), gr.skip(), _problem(f"Not made: {error}")
        items = [(str(candidate.path), f"seed {candidate.made.text.t2i_seed}") for candidate in made.items]
        return gr.Gallery(value=items, selected_index=None), made.items, _note(made.frames.notice)

    return first_frames_on_page


def _pick(candidates: list[Candidate], event: gr.SelectData):
    """The picked first frame becomes the picture; a run of it records the text that made it."""
    candidate = candidates[event.index]
    if not candidate.path.exists():
        gr.Warning("That first frame is no longer kept on the server: make first frames again.")
        return gr.skip(), gr.skip()
    return str(candidate.path), candidate.made


def text_to_video_run(maker: CandidateMaker, runner: Runner) -> Callable:
    """Text to video: the text controls, then the Create tab's controls; it also puts the first frame it made into
    the picture box, and says under the buttons if the prompt was cut."""

    async def text_to_video_on_page(
        request: gr.Request,
        prompt,
        negative_prompt,
        style,
        *values,
        progress=gr.Progress(),  # noqa: B008
    ):
        asked = _request(prompt, negative_prompt, style, 1, values)
        try:
            controls = page_controls(*values, family=family_finder(runner.engine, runner.settings))
            made, saved = await text_to_video(
                maker, runner, asked, controls, progress, True, request.username, request.session_hash
            )
        except SvdError as error:
            return (*failed(error), gr.skip(), gr.skip(), gr.skip())
        if made is None:  # cancelled before the first frame was made
            return (*shown(None), gr.skip(), gr.skip(), gr.skip())
        first = made.items[0]
        return (*shown(saved), str(first.path), first.made, _note(made.frames.notice))

    return text_to_video_on_page


def text_from(record: dict | None, styles: dict[str, Style]) -> list:
    """Values for `TextPanel.reused` that bring back what made a past video's picture: its text, which the next run
    of that picture records again; or, for a picture's video, the Picture source."""
    if record is None:
        return [gr.skip()] * 5
    if not from_text(record):  # a picture's video (a prompt it has is the video's: `reuse.controls_from` takes it)
        return [PICTURE, gr.skip(), gr.skip(), gr.skip(), None]
    text = TextSource(
        record["prompt"], record.get("negative_prompt") or "", record["style"], record["t2i_model"], record["t2i_seed"]
    )
    style = text.style if text.style in styles else gr.skip()  # a preset since removed from the user's file
    return [TEXT, text.prompt, text.negative_prompt, style, MadeFromText(record["input_sha256"], text)]


def _problem(message: str) -> gr.Markdown:
    return gr.Markdown(f"**{message}**", elem_classes=["run-error"])


def _note(message: str | None) -> gr.Markdown:
    return gr.Markdown(f"*Note: {message}.*" if message else "", elem_classes=[])
