"""The result area, and the runs that Generate and Text to video start and Cancel stops.

While a run goes, Generate shows a spinner and cannot be pressed again, Cancel appears, and the page brings the
video into view, where the queue position and then the progress show. A failed run clears the result area and
says why there, until the next run. The video shows as soon as its MP4 is written; the zip of the model's own
frames (lossless PNGs, before any finishing) comes a moment later. Variations show as a grid under it, each with
its seed: picking one shows it above.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import gradio as gr

from svd.errors import InputError, SvdError
from svd.finish.options import FORMATS
from svd.output.history import kept_frames
from svd.output.store import SavedGeneration
from svd.seeds import RANDOM_SEED

from .choices import TEXT, size_spec
from .generation import Controls, Runner
from .live_preview import preview_box
from .loras import chosen_loras
from .model_family import FamilyOf, family_finder, for_family
from .status import GPU_QUEUE
from .text import EMPTY_RESULT, NO_FIRST_FRAME, error_text, result_text

SCROLL_TO_RESULT = """() => {
  const video = [...document.querySelectorAll('#preview, #video')].find((e) => e.getBoundingClientRect().height);
  const box = video?.getBoundingClientRect();
  if (box && (box.top < 0 || box.bottom > window.innerHeight)) {
    video.scrollIntoView({behavior: 'smooth', block: 'center'});
  }
}"""
"""Bring the live preview, or else the video, into view; centred, so that the page moving a little keeps it there."""


@dataclass
class ResultArea:
    video: gr.Video
    download_video: gr.DownloadButton
    download_frames: gr.DownloadButton
    other_formats: gr.File
    """The video's WebM, GIF and WebP, when it was saved in them."""
    info: gr.Markdown
    reuse: gr.Button
    finish: gr.Button
    """Finish this video: the Finish section's choices applied to the video shown, without generating again."""
    last_record: gr.State
    """The sidecar of the video shown (None until there is one), with its file name as `sidecar`."""
    variations: gr.Gallery
    """A run's variations, each captioned with its seed; hidden for a run of one video."""
    variation_records: gr.State
    still_going: gr.Markdown
    """The user's runs going on from another page (a tab closed, or reloaded, mid-run), with how far they are."""
    preview: gr.Image
    """In the video's place while a run goes: its live preview (`ui.live_preview`)."""
    progress: gr.HTML
    """Under the preview while a run goes: its place in the queue, then its progress."""

    @property
    def outputs(self) -> list:
        """What `shown_record` gives values for, in its order: the video shown."""
        return [self.video, self.download_video, self.download_frames, self.other_formats, self.info,
                self.last_record, self.reuse, self.finish]  # fmt: skip

    @property
    def run_outputs(self) -> list:
        """What `shown` and `failed` give values for: the video shown, then the variations."""
        return [*self.outputs, self.variations, self.variation_records]


def build_result() -> ResultArea:
    still_going = gr.Markdown(visible=False, elem_id="still-going")
    preview = preview_box()
    progress = gr.HTML(visible=False, elem_id="run-progress")
    video = gr.Video(label="Video", autoplay=True, loop=True, interactive=False, height=400, elem_id="video")
    with gr.Row():
        download_video = gr.DownloadButton("Download MP4", visible=False, elem_id="download-video")
        download_frames = gr.DownloadButton("Download the model's frames (PNG zip)", visible=False)
    other_formats = gr.File(label="Other formats", file_count="multiple", visible=False, elem_id="other-formats")
    info = gr.Markdown(EMPTY_RESULT, elem_id="result-info")
    with gr.Row():
        reuse = gr.Button("Reuse these settings", visible=False, elem_id="reuse")
        finish = gr.Button("Finish this video", visible=False, elem_id="finish-this")
    variations = gr.Gallery(
        label="Variations: pick one to watch it above", columns=4, height="auto", object_fit="contain",
        allow_preview=False, visible=False, elem_id="variations",
    )  # fmt: skip
    return ResultArea(
        video, download_video, download_frames, other_formats, info, reuse, finish, gr.State(None), variations,
        gr.State([]), still_going, preview, progress,
    )  # fmt: skip


def page_controls(
    aspect, more_size, width, height, resize, motion, frames, fps, seed, steps, min_cfg, max_cfg, noise_aug,
    decode_chunk, memory, model, camera, camera_strength, camera_amount, extend, interpolate, upscale, loop, formats,
    variations, prompt, negative_prompt, last_frame, lora_names, *lora_strengths, family: FamilyOf | None = None,
) -> Controls:  # fmt: skip
    """The controls' values (in `reuse.controls_from` order) as the settings of a run. With `family` (how to find
    the chosen model's family), the settings that family does not take are left to it (None), as is the prompt of
    a family that takes no text: the page holds every family's controls, shown or not."""
    controls = Controls(
        motion=motion, frames=frames, fps=fps, seed=RANDOM_SEED if seed is None else seed,
        size=size_spec(aspect, more_size, width, height), resize=resize, steps=steps, min_cfg=min_cfg,
        max_cfg=max_cfg, noise_aug=noise_aug, decode_chunk=decode_chunk, memory=memory, model=model,
        camera=camera, camera_strength=camera_strength, camera_amount=camera_amount, extend=int(extend),
        interpolate=int(interpolate), upscale=upscale, loop=loop, formats=",".join(["mp4", *formats]),
        variations=int(variations), prompt=prompt or None, negative_prompt=negative_prompt or None,
        last_frame=last_frame or None, loras=chosen_loras(lora_names, *lora_strengths),
    )  # fmt: skip
    return for_family(controls, family(model) if family is not None else None)


def cancelled() -> gr.Markdown:
    return gr.Markdown("The run was cancelled.", elem_classes=[])


def with_info(info: gr.Markdown) -> tuple:
    """The result area as it was, with `info` as the line under the video."""
    return gr.skip(), gr.skip(), gr.skip(), gr.skip(), info, *([gr.skip()] * 5)


def shown(saved: list[SavedGeneration] | None) -> tuple:
    """What the result area shows after a run: its (first) video, downloads and settings, and its variations; or
    that it was cancelled."""
    if saved is None:
        return with_info(cancelled())
    records = [{**video.record, "sidecar": video.sidecar.name} for video in saved]
    folder = saved[0].video.parent
    tiles = [(str(folder / record["poster"]), f"Seed {record['seed']}") for record in records]
    variations = gr.Gallery(value=tiles, visible=len(records) > 1, selected_index=0)
    return *shown_record(records[0], folder), variations, records


def shown_record(record: dict, folder) -> tuple:
    """The result area showing a saved video (`record`: its sidecar, with `sidecar` its file name) in `folder`; its
    model's frames are offered once they are on disk."""
    others = [str(folder / record[name]) for name in FORMATS[1:] if record.get(name)]
    frames = kept_frames(folder, record)
    return (
        str(folder / record["video"]),
        gr.DownloadButton(value=str(folder / record["video"]), visible=True),
        gr.DownloadButton(value=str(frames) if frames else None, visible=frames is not None),
        gr.File(value=others or None, visible=bool(others)),
        gr.Markdown(result_text(record), elem_classes=[]),
        record,
        gr.Button(visible=True),
        gr.Button(visible=True),
    )


def failed(error: SvdError) -> tuple:
    """The result area after a failed run: cleared, with why, until the next run."""
    message = gr.Markdown(error_text(str(error)), elem_classes=["run-error"])
    hidden = gr.DownloadButton(value=None, visible=False)
    buttons = gr.Button(visible=False)
    files, variations = gr.File(value=None, visible=False), gr.Gallery(value=None, visible=False)
    return None, hidden, hidden, files, message, gr.skip(), buttons, buttons, variations, []


def generate_run(runner: Runner) -> Callable:
    """Generate: the picture, the controls (in `reuse.controls_from` order), the first frame made from text that
    the picture may be, and the picture's source (Picture or Text)."""

    async def generate_on_page(request: gr.Request, picture, *values, progress=gr.Progress()):  # noqa: B008
        *settings, made, source = values
        try:
            if picture is None and source == TEXT:
                raise InputError(NO_FIRST_FRAME)
            controls = page_controls(*settings, family=family_finder(runner.engine, runner.settings))
            saved = await runner.run(
                picture, controls, progress, made, frames_later=True, user=request.username,
                session=request.session_hash,
            )  # fmt: skip
        except SvdError as error:
            return failed(error)
        return shown(saved)

    return generate_on_page


class RunEvents:
    """The buttons that start a run (Generate, Text to video) and Cancel: while a run goes, Generate shows a
    spinner and cannot be pressed, Cancel appears, and the page brings the video into view."""

    def __init__(
        self, generate: gr.Button, cancel: gr.Button, result: ResultArea, runner: Runner, allowance: gr.Markdown
    ):
        self.generate = generate
        self.cancel = cancel
        self.result = result
        self.runner = runner
        self.allowance = allowance
        self.runs: list[gr.events.Dependency] = []

    def add(
        self, button: gr.Button, run: Callable, inputs: list, more: list | None = None, doing: str = "Generating",
        previews: bool = True,
    ):  # fmt: skip
        """`button` starts `run` on the GPU queue, with `more` outputs after the result area's; returns the run event.
        `doing` is what the page says meanwhile. `previews`: the run denoises, so its live preview takes the video's
        place meanwhile, with the progress under it (else the progress shows on the video)."""
        private = dict(api_visibility="private")
        result = self.result
        started = button.click(
            lambda: self._start(doing, previews), outputs=[self.generate, self.cancel, result.info, *self._swapped],
            queue=False, show_progress="hidden", **private,
        )  # fmt: skip
        started.then(None, js=SCROLL_TO_RESULT, **private)  # once Cancel is there, which may move the result
        event = started.then(
            run, inputs, [*result.run_outputs, *(more or [])], concurrency_limit=self.runner.pool.size,
            concurrency_id=GPU_QUEUE, preprocess=False, show_progress_on=result.progress if previews else result.video,
            **private,
        )  # fmt: skip
        event.then(
            self._finish, outputs=[self.generate, self.cancel, *self._swapped], show_progress="hidden", **private
        )
        if self.runner.quota is not None:
            event.then(self.left_today, outputs=self.allowance, show_progress="hidden", **private)
        self._offer_frames(event)
        self.runs.append(event)
        return event

    def connect_variations(self) -> None:
        """Picking a variation shows it as the result (its seed is then the one Last seed and Reuse take)."""
        result = self.result
        folder = self.runner.settings.output_dir

        def picked(records: list[dict], event: gr.SelectData):
            return shown_record(records[event.index], folder)

        chosen = result.variations.select(picked, result.variation_records, result.outputs, api_visibility="private")
        self._offer_frames(chosen)

    def _offer_frames(self, event: gr.events.Dependency) -> None:
        """Once `event` shows a video, offer the model's frames as soon as their zip is written (off the GPU queue)."""

        def frames_of(record: dict | None):
            if record is None:
                return gr.skip()
            self.runner.frames_ready(record["sidecar"])
            path = kept_frames(self.runner.settings.output_dir, record)
            return gr.DownloadButton(value=str(path), visible=True) if path else gr.skip()

        event.then(
            frames_of, self.result.last_record, self.result.download_frames, show_progress="hidden",
            concurrency_limit=None, api_visibility="private",
        )  # fmt: skip

    def connect_cancel(self) -> None:
        """Cancel stops whichever run goes, and the result area says so (call once every run is added)."""
        outputs = [self.generate, self.cancel, self.result.info, *self._swapped]
        self.cancel.click(
            self._cancelled, outputs=outputs, cancels=self.runs, show_progress="hidden", api_visibility="private"
        )

    def left_today(self, request: gr.Request) -> str:
        return self.runner.left_today(request.username)

    @property
    def _swapped(self) -> list:
        """What a run with previews shows instead of the video while it goes."""
        return [self.result.video, self.result.preview, self.result.progress]

    @staticmethod
    def _start(doing: str, previews: bool):
        running = gr.Button(f"{doing}…", interactive=False, elem_classes=["running"])
        where = "under the preview of the video as it forms" if previews else "on the video"
        started = gr.Markdown(f"**{doing}…** the progress shows {where}.", elem_classes=[])
        if not previews:
            return running, gr.Button(visible=True), started, gr.skip(), gr.skip(), gr.skip()
        return (
            running,
            gr.Button(visible=True),
            started,
            gr.Video(visible=False),
            gr.Image(None, visible=True),
            gr.HTML(visible=True),
        )

    @staticmethod
    def _finish():
        ended = gr.Video(visible=True), gr.Image(None, visible=False), gr.HTML(visible=False)
        return gr.Button("Generate", interactive=True, elem_classes=[]), gr.Button(visible=False), *ended

    @classmethod
    def _cancelled(cls):
        generate, cancel, *ended = cls._finish()
        return generate, cancel, cancelled(), *ended
