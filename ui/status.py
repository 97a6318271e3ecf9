"""The status banner at the top of the page: what the model and the GPU are doing, coloured by state, with the next
step and a Retry button when something failed; its title as one line in the Create tab's action bar, which stays
in view while the page scrolls; the user's runs still going from another page (one closed or reloaded mid-run); and
the live preview of the page's own run. All are redrawn every second for every open page, by one timer."""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from svd.errors import OutputError
from svd.media.files import check_output_folder
from svd.serve.pool import EnginePool

from .generation import Runner
from .live_preview import newest_preview
from .text import still_going_text

GPU_QUEUE = "gpu"
"""Gradio's concurrency id of the events that run on the GPUs (as many at once as there are engines)."""


@dataclass(frozen=True)
class Banner:
    state: str
    """ready, busy, downloading, loading, idle or failed: the banner's colour."""
    title: str
    detail: str = ""
    advice: str = ""
    retry: bool = False
    """Whether Retry (loading the model again) can help: only after the model failed."""

    def html(self) -> str:
        parts = [f'<div class="banner banner-{self.state}" role="status"><strong>{html.escape(self.title)}</strong>']
        if self.detail:
            parts.append(f'<span class="banner-detail">{html.escape(self.detail)}</span>')
        if self.advice:
            parts.append(f'<span class="banner-advice">Next step: {html.escape(self.advice)}</span>')
        return "".join(parts) + "</div>"

    def line(self) -> str:
        """The title and then the detail as one line, cut where it ends, with the state's colour (the banner itself
        is what a screen reader reads)."""
        detail = f"<span>· {html.escape(self.detail)}</span>" if self.detail else ""
        return (
            f'<div class="status-line status-line-{self.state}" aria-hidden="true">'
            f"<strong>{html.escape(self.title)}</strong>{detail}</div>"
        )


def gpu_queue(demo: gr.Blocks) -> tuple[int, int]:
    """How many GPU events Gradio's queue is running and how many wait (0, 0 before the queue starts)."""
    queue = getattr(demo, "_queue", None)
    events = getattr(queue, "event_queue_per_concurrency_id", {}).get(GPU_QUEUE)
    if events is None:
        return 0, 0
    return events.current_concurrency, len(events.queue)


def output_problem(folder: Path) -> OutputError | None:
    try:
        check_output_folder(folder, probe=False)
    except OutputError as error:
        return error
    return None


def banner(pool: EnginePool, output_dir: Path, running: int, waiting: int) -> Banner:
    """The model's failure first, then what is under way (a download shows its progress), then an output folder
    that cannot take videos, then how many GPUs are busy."""
    status = pool.status
    if status.state == "failed":
        return Banner("failed", "Model failed", status.message, status.advice or "", retry=True)
    if status.state == "downloading":
        share = f" ({status.fraction:.0%})" if status.fraction is not None else ""
        return Banner("downloading", f"Downloading{share}", status.message)
    if status.state == "loading":
        return Banner("loading", "Loading", status.message)
    problem = output_problem(output_dir)
    if problem is not None:
        return Banner("failed", "Videos cannot be saved", problem.cause, problem.advice or "")
    busy = max(running, pool.busy)
    if busy:
        working = f"{busy} of {pool.size} GPUs generating" if pool.size > 1 else "generating"
        return Banner("busy", f"Busy: {working}{f', {waiting} waiting' if waiting else ''}", status.loaded)
    if status.state == "idle":
        return Banner("idle", "Model not loaded", status.message)
    return Banner("ready", "Ready", status.message)


class StatusViews:
    """The banner and its Retry button where `build_status` is called, and one-line copies wherever `line` is; call
    `connect` once the page has them all."""

    def __init__(self, runner: Runner, demo: gr.Blocks):
        self.pool, self.output_dir, self.demo = runner.pool, runner.settings.output_dir, demo
        self.in_flight = runner.in_flight
        initial = self.shown(0, 0)
        with gr.Row(elem_id="status-row"):
            self.view = gr.HTML(initial.html(), elem_id="status", scale=4, min_width=240)
            self.retry = gr.Button("Retry", visible=initial.retry, scale=0, min_width=90, elem_id="retry")
        self.lines: list[gr.HTML] = []
        self.going: list[gr.Markdown] = []
        self.previews: gr.Image | None = None

    def shown(self, running: int, waiting: int) -> Banner:
        return banner(self.pool, self.output_dir, running, waiting)

    def line(self, elem_id: str) -> gr.HTML:
        """A one-line copy of the banner here (its title and detail, coloured by state)."""
        copy = gr.HTML(self.shown(0, 0).line(), elem_id=elem_id)
        self.lines.append(copy)
        return copy

    def runs_still_going(self, view: gr.Markdown) -> None:
        """Show in `view` the runs the page's user started from another page, and how far each is."""
        self.going.append(view)

    def previews_in(self, view: gr.Image) -> None:
        """Show in `view` each new live preview of the run this page started (`ui.live_preview`)."""
        self.previews = view

    def connect(self) -> None:
        """The timer that redraws the banner, its copies, the runs still going and the live preview, and Retry."""
        shown_preview = gr.State(None)

        def redraw(request: gr.Request, preview_shown: tuple | None):
            shown = self.shown(*gpu_queue(self.demo))
            runs = self.in_flight.of(request.username, request.session_hash)
            going = gr.Markdown(still_going_text(runs), visible=bool(runs))
            lines = [shown.line()] * len(self.lines)
            preview, preview_shown = newest_preview(self.in_flight, request.session_hash, preview_shown)
            previews = [preview or gr.skip()] if self.previews is not None else []
            return (
                shown.html(),
                gr.Button(visible=shown.retry),
                *lines,
                *([going] * len(self.going)),
                *previews,
                preview_shown,
            )

        def retry(request: gr.Request, preview_shown: tuple | None):
            self.pool.load_in_background()
            return redraw(request, preview_shown)

        previews = [self.previews] if self.previews is not None else []
        outputs = [self.view, self.retry, *self.lines, *self.going, *previews, shown_preview]
        private = dict(api_visibility="private", queue=False, show_progress="hidden")
        self.demo.load(redraw, shown_preview, outputs, **private)  # as the page opens, not a tick later
        gr.Timer(1.0).tick(redraw, shown_preview, outputs, **private)
        self.retry.click(retry, shown_preview, outputs, **private)


def build_status(runner: Runner, demo: gr.Blocks) -> StatusViews:
    """The banner and its Retry button, here."""
    return StatusViews(runner, demo)
