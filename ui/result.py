"""The result area, and the runs that Generate and Text to video start and Cancel stops.

While a run goes, Generate shows a spinner and cannot be pressed again, Cancel appears, and the page brings the
video into view, where the queue position and then the progress show. A failed run clears the result area and
says why there, until the next run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import gradio as gr

from svd.errors import InputError, SvdError
from svd.request import RANDOM_SEED
from svd.store import SavedGeneration

from .choices import TEXT, size_spec
from .generation import Controls, Runner
from .status import GPU_QUEUE
from .text import EMPTY_RESULT, NO_FIRST_FRAME, error_text, result_text

SCROLL_TO_RESULT = """() => {
  const video = document.querySelector('#video');
  const box = video?.getBoundingClientRect();
  if (box && (box.top < 0 || box.bottom > window.innerHeight)) {
    video.scrollIntoView({behavior: 'smooth', block: 'center'});
  }
}"""
"""Bring the video (where the progress shows) into view; centred, so that the page moving a little keeps it there."""


@dataclass
class ResultArea:
    video: gr.Video
    download_video: gr.DownloadButton
    download_frames: gr.DownloadButton
    info: gr.Markdown
    reuse: gr.Button
    last_record: gr.State
    """The sidecar of this page's last video (None until one is made)."""


def build_result() -> ResultArea:
    video = gr.Video(label="Video", autoplay=True, loop=True, interactive=False, height=400, elem_id="video")
    with gr.Row():
        download_video = gr.DownloadButton("Download MP4", visible=False, elem_id="download-video")
        download_frames = gr.DownloadButton("Download PNG frames (zip)", visible=False)
    info = gr.Markdown(EMPTY_RESULT, elem_id="result-info")
    reuse = gr.Button("Reuse these settings", visible=False, elem_id="reuse")
    return ResultArea(video, download_video, download_frames, info, reuse, gr.State(None))


def page_controls(
    aspect, more_size, width, height, resize, motion, frames, fps, seed, steps, min_cfg, max_cfg, noise_aug,
    decode_chunk, memory, model, camera, camera_strength, camera_amount,
) -> Controls:  # fmt: skip
    """The controls' values (in `reuse.controls_from` order) as the settings of a run."""
    return Controls(
        motion=motion, frames=frames, fps=fps, seed=RANDOM_SEED if seed is None else seed,
        size=size_spec(aspect, more_size, width, height), resize=resize, steps=steps, min_cfg=min_cfg,
        max_cfg=max_cfg, noise_aug=noise_aug, decode_chunk=decode_chunk, memory=memory, model=model,
        camera=camera, camera_strength=camera_strength, camera_amount=camera_amount,
    )  # fmt: skip


def shown(saved: SavedGeneration | None) -> tuple:
    """What the result area shows after a run: its video, downloads and settings, or that it was cancelled."""
    if saved is None:
        cancelled = gr.Markdown("The run was cancelled.", elem_classes=[])
        return gr.skip(), gr.skip(), gr.skip(), cancelled, gr.skip(), gr.skip()
    return (
        str(saved.video),
        gr.DownloadButton(value=str(saved.video), visible=True),
        gr.DownloadButton(value=str(saved.frames), visible=True),
        gr.Markdown(result_text(saved.record), elem_classes=[]),
        saved.record,
        gr.Button(visible=True),
    )


def failed(error: SvdError) -> tuple:
    """The result area after a failed run: cleared, with why, until the next run."""
    message = gr.Markdown(error_text(str(error)), elem_classes=["run-error"])
    hidden = gr.DownloadButton(value=None, visible=False)
    return None, hidden, hidden, message, gr.skip(), gr.Button(visible=False)


def generate_run(runner: Runner) -> Callable:
    """Generate: the picture, the controls (in `reuse.controls_from` order), the first frame made from text that
    the picture may be, and the picture's source (Picture or Text)."""

    async def generate_on_page(picture, *values, progress=gr.Progress()):  # noqa: B008
        *settings, made, source = values
        try:
            if picture is None and source == TEXT:
                raise InputError(NO_FIRST_FRAME)
            saved = await runner.run(picture, page_controls(*settings), progress, made)
        except SvdError as error:
            return failed(error)
        return shown(saved)

    return generate_on_page


class RunEvents:
    """The buttons that start a run (Generate, Text to video) and Cancel: while a run goes, Generate shows a
    spinner and cannot be pressed, Cancel appears, and the page brings the video into view."""

    def __init__(self, generate: gr.Button, cancel: gr.Button, result: ResultArea):
        self.generate = generate
        self.cancel = cancel
        self.result = result
        self.runs: list[gr.events.Dependency] = []

    @property
    def outputs(self) -> list:
        """What a run's function returns first (`shown` and `failed` give them)."""
        result = self.result
        return [result.video, result.download_video, result.download_frames, result.info, result.last_record,
                result.reuse]  # fmt: skip

    def add(self, button: gr.Button, run: Callable, inputs: list, more_outputs: list | None = None):
        """`button` starts `run` on the GPU queue; returns the run event."""
        private = dict(api_visibility="private")
        started = button.click(
            self._start, outputs=[self.generate, self.cancel, self.result.info], queue=False, show_progress="hidden",
            **private,
        )  # fmt: skip
        started.then(None, js=SCROLL_TO_RESULT, **private)  # once Cancel is there, which may move the result
        event = started.then(
            run, inputs, [*self.outputs, *(more_outputs or [])], concurrency_limit=1, concurrency_id=GPU_QUEUE,
            preprocess=False, show_progress_on=self.result.video, **private,
        )  # fmt: skip
        event.then(self._finish, outputs=[self.generate, self.cancel], show_progress="hidden", **private)
        self.runs.append(event)
        return event

    def connect_cancel(self) -> None:
        """Cancel stops whichever run goes (call once every run is added)."""
        buttons = [self.generate, self.cancel]
        self.cancel.click(
            self._finish, outputs=buttons, cancels=self.runs, show_progress="hidden", api_visibility="private"
        )

    @staticmethod
    def _start():
        running = gr.Button("Generating…", interactive=False, elem_classes=["running"])
        return running, gr.Button(visible=True), gr.Markdown("**Generating…** the progress shows on the video.")

    @staticmethod
    def _finish():
        return gr.Button("Generate", interactive=True, elem_classes=[]), gr.Button(visible=False)
