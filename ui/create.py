"""The Create tab: the picture (uploaded, or made from text) and how it is framed, Generate and Cancel, the camera,
the settings, and the result.

Laid out for the person in front of it: at laptop size the result sits beside the controls, in view while a run
goes; on a phone it follows them, and pressing Generate scrolls to it. Generate, Cancel and the status line sit in
an action bar at the end of the controls that sticks to the foot of the screen while the picture and the settings
above it are edited, and comes to rest under the last of them, so it hides none for good.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import gradio as gr

from svd.engine import Engine
from svd.settings import Settings
from svd.text.styles import Style

from .camera import build_camera, connect_camera
from .camera_previews import CameraPreviews
from .candidates import CandidateMaker
from .controls import build_settings, connect_settings
from .finish import FinishSection, build_finish, connect_finish, finish_run
from .framing import Framing, build_framing, connect_framing, sizing_of
from .generation import Runner
from .preview import refused_upload
from .result import ResultArea, RunEvents, build_result, generate_run
from .reuse import controls_from
from .status import StatusViews
from .text_source import build_source, build_text_panel, connect_text_panel, text_to_video_run


@dataclass
class CreateTab:
    """The parts of the tab that other parts of the page connect to."""

    picture: gr.Image
    controls: list[gr.components.Component]
    """In the order `reuse.controls_from` returns values for them."""
    runs: list[gr.events.Dependency]
    """The generation events (Generate, Text to video): the History tab refreshes after each."""
    text: list[gr.components.Component]
    """The picture's source and text, in the order `text_source.text_from` returns values for them."""
    styles: dict[str, Style]
    result: ResultArea
    finish: FinishSection
    allowance: gr.Markdown
    """How many videos the user has left today, when there is a daily allowance."""


ACTIONS_CSS = """
#actions { position: sticky; bottom: 0; z-index: var(--layer-5); gap: 4px; padding: 8px 0 6px;
  background: var(--body-background-fill); border-top: 1px solid var(--border-color-primary);
  box-shadow: 0 -10px 12px -10px rgba(15, 23, 42, 0.25); }
#actions .status-line { display: flex; align-items: center; gap: 6px; min-height: 1.4em; font-size: var(--text-sm);
  color: var(--body-text-color-subdued); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
#actions .status-line::before { content: ""; flex: none; width: 8px; height: 8px; border-radius: 50%;
  background: #64748b; }
#actions .status-line-ready::before { background: #1f9d55; }
#actions .status-line-busy::before, #actions .status-line-downloading::before,
#actions .status-line-loading::before { background: #d97706; }
#actions .status-line-failed::before { background: #dc2626; }
#actions .status-line-failed strong { color: #b91c1c; }
#actions .status-line span { min-width: 0; overflow: hidden; text-overflow: ellipsis; }
html { scroll-padding-bottom: 120px; }
.gradio-container { overflow: clip !important; }
"""
"""The action bar: stuck to the foot of the screen (or of the controls, once they end), over the labels (Gradio's
layer 4) and under the menus (its top layer); a field the browser brings into view (focus, a scroll to it) stops
above the bar. Gradio's container hides what overflows it, which makes it the box a sticky bar sticks in (one that
never scrolls); clipping hides the same and leaves the bar to the page."""


def keep_in_view(selector: str, block: str = "center", seconds: float = 6) -> str:
    """JavaScript for an event's `js`: bring the element into view (the first shown of those `selector` matches;
    smoothly, when it is not wholly on screen) and keep it there for `seconds` while the page settles, until the
    person scrolls, touches, clicks or types. What loads meanwhile moves it: camera previews that land above the
    result on a phone, a video that takes its size once it loads. (A browser keeps what is on screen in place as the
    page above it grows, but not during a smooth scroll, which ends where it was first aimed.)"""
    return f"""() => {{
  const target = () => [...document.querySelectorAll({json.dumps(selector)})].find(
    (element) => element.getBoundingClientRect().height);
  const place = (behavior) => {{
    const element = target();
    const box = element?.getBoundingClientRect();
    if (box?.height && (box.top < 0 || box.bottom > window.innerHeight)) {{
      element.scrollIntoView({{behavior, block: {json.dumps(block)}}});
    }}
  }};
  let started = false;
  const observer = new ResizeObserver(() => {{ if (started) place('instant'); started = true; }});
  const interruptions = ['wheel', 'touchstart', 'pointerdown', 'keydown'];
  const stop = () => {{
    observer.disconnect();
    interruptions.forEach((name) => removeEventListener(name, stop, true));
  }};
  place('smooth');
  observer.observe(document.body);
  interruptions.forEach((name) => addEventListener(name, stop, {{capture: true, passive: true}}));
  setTimeout(stop, {round(seconds * 1000)});
}}"""


def build_create(
    engine: Engine, settings: Settings, runner: Runner, maker: CandidateMaker, status: StatusViews
) -> CreateTab:
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=320, elem_id="controls"):
            source = build_source()
            text = build_text_panel(source, maker.styles, maker.styles_problem)
            framing = build_framing(engine.source().defaults)
            camera = build_camera()
            run_settings = build_settings(engine, settings)
            finish = build_finish(engine.source().defaults)
            with gr.Column(elem_id="actions"):
                with gr.Row():
                    generate = gr.Button("Generate", variant="primary", scale=3, elem_id="generate")
                    cancel = gr.Button(
                        "Cancel", variant="stop", scale=1, min_width=100, visible=False, elem_id="cancel"
                    )
                status.line("action-status")
                allowance = gr.Markdown(visible=runner.quota is not None, elem_id="allowance")
        with gr.Column(scale=1, min_width=320, elem_id="result"):
            result = build_result()
            status.runs_still_going(result.still_going)
            status.previews_in(result.preview)

    controls = [
        *framing.size_controls, framing.resize, *run_settings.values, *camera.values, *finish.values,
        run_settings.variations, *run_settings.prompts, framing.last_frame, *run_settings.loras.values,
    ]  # fmt: skip
    runs = RunEvents(generate, cancel, result, runner, allowance)
    runs.add(generate, generate_run(runner), [framing.picture, *controls, text.made, text.source])
    runs.add(
        text.text_to_video, text_to_video_run(maker, runner), [*text.text_values, *controls],
        [framing.picture, text.made, text.notice],
    )  # fmt: skip
    runs.add(
        result.finish, finish_run(runner), [result.last_record, *finish.values], [finish.accordion], "Finishing",
        previews=False,
    )  # fmt: skip
    runs.connect_cancel()
    for button in (generate, text.text_to_video, result.finish):  # each scrolls to the result: keep it there
        button.click(None, js=keep_in_view("#preview, #video"), api_visibility="private", queue=False)
    runs.connect_variations()
    connect_finish(finish, run_settings.frames, run_settings.fps, framing.framed, engine.source().defaults)
    connect_text_panel(text, maker, framing, controls, camera, run_settings.motion)
    show_preview = connect_framing(framing, engine, settings, run_settings.model)
    framed_inputs = [*sizing_of(framing, run_settings.model), framing.last_frame]
    connect_refusals(framing)
    connect_settings(run_settings, result.last_record, settings)
    sizing = sizing_of(framing, run_settings.model)
    length = [run_settings.frames, run_settings.fps]
    connect_camera(camera, CameraPreviews(engine, settings), sizing, framing.framed, length)
    result.reuse.click(
        lambda record: controls_from(engine, settings, record), result.last_record, controls, api_visibility="private"
    )
    run_settings.picker.connect(
        run_settings.model,
        [framing.aspect, framing.more_size, *run_settings.model_defaults],
        framed_inputs,
        framing.preview_outputs,
        show_preview,
    )
    return CreateTab(
        picture=framing.picture, controls=controls, runs=runs.runs, text=text.reused, styles=maker.styles,
        result=result, finish=finish, allowance=allowance,
    )  # fmt: skip


def connect_refusals(framing: Framing) -> None:
    """An upload that is not a usable picture is taken out of the box, the line under it saying why (an empty box
    leaves that line alone); the box's own Remove button empties the line."""
    private = dict(api_visibility="private", show_progress="hidden")
    picture, notice = framing.picture, framing.notice
    for box in (picture, framing.last_frame):
        box.upload(refused_upload, box, [box, notice], preprocess=False, queue=False, **private)
    picture.clear(lambda: "", outputs=notice, queue=False, **private)
