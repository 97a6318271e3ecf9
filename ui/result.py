"""The result area, and the run that Generate and Cancel drive.

While a run goes, Generate shows a spinner and cannot be pressed again, Cancel appears, and the page brings the
video into view, where the queue position and then the progress show. A failed run clears the result area and
says why there, until the next run.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from svd.errors import SvdError
from svd.request import RANDOM_SEED

from .choices import size_spec
from .generation import Controls, Runner
from .text import EMPTY_RESULT, error_text, result_text

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


def connect_run(
    runner: Runner, generate: gr.Button, cancel: gr.Button, inputs: list, result: ResultArea
) -> gr.events.Dependency:
    """Wire Generate and Cancel; `inputs` are the picture and then the controls in `reuse.controls_from` order.
    Returns the generation event."""

    async def generate_on_page(
        picture, aspect, more_size, width, height, resize, motion, frames, fps, seed, steps, min_cfg, max_cfg,
        noise_aug, decode_chunk, memory, model, camera, camera_strength, camera_amount,
        progress=gr.Progress(),  # noqa: B008
    ):  # fmt: skip
        controls = Controls(
            motion=motion, frames=frames, fps=fps, seed=RANDOM_SEED if seed is None else seed,
            size=size_spec(aspect, more_size, width, height), resize=resize, steps=steps, min_cfg=min_cfg,
            max_cfg=max_cfg, noise_aug=noise_aug, decode_chunk=decode_chunk, memory=memory, model=model,
            camera=camera, camera_strength=camera_strength, camera_amount=camera_amount,
        )  # fmt: skip
        try:
            saved = await runner.run(picture, controls, progress)
        except SvdError as error:
            message = gr.Markdown(error_text(str(error)), elem_classes=["run-error"])
            hidden = gr.DownloadButton(value=None, visible=False)
            return None, hidden, hidden, message, gr.skip(), gr.Button(visible=False)
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

    def start():
        running = gr.Button("Generating…", interactive=False, elem_classes=["running"])
        return running, gr.Button(visible=True), gr.Markdown("**Generating…** the progress shows on the video.")

    def finish():
        return gr.Button("Generate", interactive=True, elem_classes=[]), gr.Button(visible=False)

    private = dict(api_visibility="private")
    buttons = [generate, cancel]
    outputs = [result.video, result.download_video, result.download_frames, result.info, result.last_record,
               result.reuse]  # fmt: skip
    started = generate.click(start, outputs=[*buttons, result.info], queue=False, show_progress="hidden", **private)
    started.then(None, js=SCROLL_TO_RESULT, **private)  # once Cancel is there, which may move the result
    run = started.then(
        generate_on_page, inputs, outputs, concurrency_limit=1, concurrency_id="gpu", preprocess=False,
        show_progress_on=result.video, **private,
    )  # fmt: skip
    run.then(finish, outputs=buttons, show_progress="hidden", **private)
    cancel.click(finish, outputs=buttons, cancels=[run], show_progress="hidden", **private)
    return run
