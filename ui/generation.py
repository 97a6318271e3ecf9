"""One generation for the page or the API: a picture and the controls become a `GenerationRequest`, the engine runs
it (once its model is ready) and the store saves it.

Every failure ends as an `SvdError` with one line for the user. A user's mistake logs one line; only an unexpected
failure logs its traceback.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import anyio

from svd.cli.main import PLACEHOLDER
from svd.cost import Cost
from svd.engine import Engine
from svd.errors import CancelledError, InputError, SvdError
from svd.families.catalogue import served_models
from svd.finish.options import FinishOptions, parse_formats
from svd.input.image import InputImage
from svd.input.sizing import parse_size
from svd.loras.library import served
from svd.media.files import check_output_folder
from svd.output.history import visible_to
from svd.output.sidecar import not_here
from svd.output.store import SavedGeneration, save_generations, timestamped_stem
from svd.refinish import past_video, refinish, refinish_cost
from svd.request import GenerationRequest, GenerationSettings, LoraChoice, TextSource
from svd.results import EngineStatus, GenerationResult, Progress
from svd.serve.pool import EnginePool
from svd.serve.quota import DailyQuota, paying, shown_units
from svd.serve.runs import RunJournal, RunsInFlight
from svd.settings import Settings

from .api_checks import sidecar_name
from .uploads import uploaded_picture

log = logging.getLogger("svd.webui")

NO_PICTURE = "add a picture first: drop one in, paste it, or click the picture box to upload"

PREVIEW_EVERY = 2
"""A page's live preview is redrawn every this many denoising steps (and at the last)."""

ProgressBar = Callable[..., None]
"""`gr.Progress` on the page; a no-op for the API."""


@dataclass(frozen=True)
class Controls:
    """The settings of one run, as the page's controls and the API's parameters give them."""

    motion: int | None
    """None: the model's own (as for the noise augmentation); a model without it refuses any other value."""
    frames: int
    fps: int
    seed: int | None
    size: str
    resize: str
    steps: int
    min_cfg: float | None
    """None: the model's own (as for max_cfg)."""
    max_cfg: float | None
    noise_aug: float | None
    decode_chunk: int
    memory: str
    model: str
    camera: str
    camera_strength: float | None
    """None: the move's default."""
    camera_amount: float
    extend: int = 1
    interpolate: int = 1
    upscale: str = "none"
    loop: str = "none"
    formats: str = "mp4"
    """Comma-separated; MP4 is always written."""
    variations: int = 1
    prompt: str | None = None
    """What the video should show, for models that take text (Wan); None for the others."""
    negative_prompt: str | None = None
    last_frame: dict | None = None
    """The picture to end on, as its image input's raw payload (for models that take one)."""
    loras: tuple[LoraChoice, ...] = ()
    """For families that take LoRAs: each by its name in the loras folder (or a Hub name), with its strength."""

    @property
    def finish(self) -> FinishOptions:
        return FinishOptions(
            interpolate=self.interpolate,
            upscale=self.upscale,
            loop=self.loop,
            extend=self.extend,
            formats=parse_formats(self.formats),
        )


@dataclass(frozen=True)
class MadeFromText:
    """A first frame made from text: the SHA-256 of its PNG and what made it. A run whose picture has these bytes
    records the text in its sidecar; once the picture is replaced, the text no longer applies."""

    sha256: str
    text: TextSource

    def text_for(self, picture: InputImage) -> TextSource | None:
        return self.text if picture.sha256 == self.sha256 else None


def to_request(
    picture: InputImage, controls: Controls, settings: Settings, text: TextSource | None = None
) -> GenerationRequest:
    return GenerationRequest(
        image=picture,
        model=served_models(settings).name(controls.model),
        num_frames=controls.frames,
        fps=controls.fps,
        motion_bucket_id=controls.motion,
        noise_aug_strength=controls.noise_aug,
        num_inference_steps=controls.steps,
        min_guidance_scale=controls.min_cfg,
        max_guidance_scale=controls.max_cfg,
        seed=controls.seed,
        size=parse_size(controls.size),
        resize=controls.resize,  # type: ignore[arg-type]
        decode_chunk_size=controls.decode_chunk or None,
        memory=controls.memory,
        camera=controls.camera,
        camera_strength=controls.camera_strength,
        camera_amount=controls.camera_amount,
        text=text,
        finish=controls.finish,
        variations=controls.variations,
        prompt=controls.prompt or None,
        negative_prompt=controls.negative_prompt or None,
        last_frame=uploaded_picture(controls.last_frame),
        loras=tuple(replace(lora, name=served(lora.name, settings.hub_models)) for lora in controls.loras),
    )


def log_saved(video: SavedGeneration) -> None:
    """One line in the server log per video saved, made or finished."""
    record = video.record
    size = f"{record['video_width']}x{record['video_height']} at {record['video_fps']} fps"
    source = f", finished from {record['finished_from']}" if record.get("finished_from") else ""
    log.info(f"saved {video.video.name}: {record['video_num_frames']} frames, {size}{source}")


@contextlib.contextmanager
def explained(undone: str) -> Iterator[None]:
    """Any failure inside becomes an `SvdError` of one line; `undone` says what did not happen, for the log."""
    try:
        yield
    except SvdError as error:
        log.info(f"{undone}: {error}")
        raise
    except Exception as error:
        log.exception("unexpected failure")
        raise SvdError(  # its text may name the server's files: the log has it, the caller gets its kind
            f"unexpected failure ({type(error).__name__})", "the server log has the details"
        ) from error


class Runner:
    """Runs generations for the page and the API on the engines (one per GPU, or a Ray cluster's), within each
    user's daily allowance when there is one, saving them to the output folder."""

    def __init__(self, pool: EnginePool, settings: Settings, quota: DailyQuota | None = None):
        self.pool = pool
        self.settings = settings
        self.quota = quota
        self.runs = RunJournal(settings.output_dir)
        self.in_flight = RunsInFlight()
        self._frames: dict[str, threading.Event] = {}
        """The zips of the model's frames still being written, by their video's sidecar name."""

    @property
    def engine(self) -> Engine:
        """The engine that answers what needs no GPU of its own: model names, their defaults, settings checks."""
        return self.pool.primary

    async def run(
        self,
        picture: dict | None,
        controls: Controls,
        progress: ProgressBar,
        made: MadeFromText | None = None,
        frames_later: bool = False,
        user: str | None = None,
        session: str | None = None,
    ) -> list[SavedGeneration] | None:
        """Generate in a worker thread: the request's videos (one per variation), on a free engine. When Gradio
        cancels this event (the Cancel button, or a client's cancel), the engine is told at once and stops within a
        step; the event's slot is free meanwhile. None if cancelled. `made`: the first frame the page or the API
        made from text, recorded if `picture` is that frame. `frames_later`: the zips of the model's frames are
        written after this returns (`frames_ready` waits for one). `user`: who asks, whose allowance pays (None: no
        logins). `session`: the page that asks, if a page does: its user's other pages show the run going, and it
        has live previews every `PREVIEW_EVERY` steps (`RunsInFlight.started_from`)."""
        cancel = threading.Event()
        try:
            return await anyio.to_thread.run_sync(
                self._run,
                picture,
                controls,
                progress,
                made,
                cancel,
                frames_later,
                user,
                session,
                abandon_on_cancel=True,
            )
        except anyio.get_cancelled_exc_class():
            cancel.set()
            raise

    def check(self, controls: Controls) -> Cost:
        """Refuse bad settings, a request over the limits and an output folder that cannot take the video, before
        any work: for text to video, before the first frame is made (`controls.size` is then the first frame's).
        Returns what the video will cost."""
        return self._check(to_request(PLACEHOLDER, controls, self.settings))[1]

    def _check(self, request: GenerationRequest) -> tuple[GenerationSettings, Cost]:
        settings = self.engine.prepare(request)
        cost = self.engine.cost(settings)
        check_output_folder(self.settings.output_dir, cost.disk_bytes)
        return settings, cost

    def can_pay(self, user: str | None, units: float) -> None:
        """Refuse now, taking nothing, if `user`'s allowance cannot cover `units`."""
        if self.quota is not None and user is not None:
            self.quota.check(user, units)

    def left_today(self, user: str | None) -> str:
        """What the page says of the user's allowance: "N of M left today", or nothing without a quota."""
        if self.quota is None or user is None:
            return ""
        left = self.quota.left(user)
        if left is None:
            return "No daily limit (admin)"
        return f"**{shown_units(left)} of {shown_units(self.quota.limit)}** videos left today"

    def _run(
        self,
        payload: dict | None,
        controls: Controls,
        progress: ProgressBar,
        made: MadeFromText | None,
        cancel: threading.Event,
        frames_later: bool,
        user: str | None,
        session: str | None,
    ) -> list[SavedGeneration] | None:
        with explained("not generated"):
            picture = uploaded_picture(payload)
            if picture is None:
                raise InputError(NO_PICTURE)
            request = to_request(picture, controls, self.settings, made.text_for(picture) if made else None)
            settings, cost = self._check(request)

            def show(update: Progress) -> None:
                left = f" · about {update.eta_seconds:.0f} s left" if update.eta_seconds is not None else ""
                steps = (update.step, update.total) if update.total else None  # finishing has no steps to count
                desc = update.note or f"{update.stage}{left}"
                run.doing = f"{update.stage}, step {update.step} of {update.total}" if steps else update.stage
                if update.preview is not None:
                    run.preview, run.previews = update.preview, run.previews + 1
                progress(steps, desc=desc[0].upper() + desc[1:], unit="steps")

            def waiting(status: EngineStatus) -> None:
                run.doing = "waiting for the model"
                progress(status.fraction, desc=f"Waiting for the model: {status.message}")

            def keep(results: list[GenerationResult]) -> list[SavedGeneration]:
                run.doing = "writing the video"
                progress(1.0, desc="Writing the video")
                return self._save(
                    [replace(result, owner=user) for result in results], picture.name, frames_later, cancel
                )

            try:
                with (
                    self.in_flight.going(
                        user, session, picture.name, settings.fps
                    ) as run,  # show, waiting, keep update
                    paying(self.quota, user, cost.units) as taken,  # given back if nothing is saved
                    self.runs.running(settings, picture, user, taken),  # listed as stopped if the server stops
                ):
                    previews = PREVIEW_EVERY if session else 0
                    return self.pool.make(request, keep, show, cancel, waiting, previews)
            except CancelledError:
                return None

    def _save(
        self, results: list[GenerationResult], name: str, frames_later: bool, cancel: threading.Event
    ) -> list[SavedGeneration]:
        stems = [timestamped_stem(self.settings.output_dir, name) for _ in results]
        saved = save_generations(results, stems, frames_later=frames_later, cancel=cancel)
        for video in saved:
            log_saved(video)
        self._frames = {key: event for key, event in self._frames.items() if not event.is_set()}
        self._frames.update({video.sidecar.name: video.frames_written for video in saved})
        return saved

    def frames_ready(self, sidecar: str, timeout: float = 120) -> None:
        """Wait until the model's frames of the video of `sidecar` are on disk, if they are still being written."""
        writing = self._frames.get(sidecar)
        if writing is not None:
            writing.wait(timeout)

    async def finish(
        self, sidecar: str, options: FinishOptions, progress: ProgressBar, user: str | None = None
    ) -> SavedGeneration | None:
        """Finish a video of the output folder again (`sidecar`: its sidecar's file name), in a worker thread, paid
        from `user`'s allowance; None if cancelled (as `run`)."""
        cancel = threading.Event()
        try:
            return await anyio.to_thread.run_sync(
                self._finish, sidecar, options, progress, user, cancel, abandon_on_cancel=True
            )
        except anyio.get_cancelled_exc_class():
            cancel.set()
            raise

    def _finish(
        self, sidecar: str, options: FinishOptions, progress: ProgressBar, user: str | None, cancel: threading.Event
    ) -> SavedGeneration | None:
        with explained("not finished"):  # refused before any work: no such video, over the limits, no room
            past = past_video(self.settings.output_dir / sidecar_name(sidecar))
            if not visible_to(past.record, user, self.settings.admins):  # another user's: as if it were not there
                raise not_here(past.sidecar)
            self.frames_ready(sidecar)  # finish from the model's frames, which may still be being zipped
            cost = refinish_cost(self.engine, past, options)
            check_output_folder(self.settings.output_dir, cost.disk_bytes)
            progress(None, desc="Finishing")
            try:
                with paying(self.quota, user, cost.units), self.pool.engine() as engine:
                    finished = refinish(engine, past, options, cancel=cancel, owner=user)
            except CancelledError:
                return None
            log_saved(finished)
            return finished
