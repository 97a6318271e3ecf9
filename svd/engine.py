"""The generation engine: one per process. It owns the device, keeps one model loaded and runs one request at a time.

The frames come from the loaded model's family's diffusers pipeline itself (`StableVideoDiffusionPipeline`,
`WanImageToVideoPipeline`), called with CPU `torch.Generator`s seeded from the request, so the engine's output equals
a direct call of the reference pipeline with the same settings. The engine asks the family (`svd.families`) how to
place, run and preview its model, and holds no family's branch of its own.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

import numpy as np
import torch
from diffusers import DiffusionPipeline
from PIL import Image

from .camera.depth import DEFAULT_DEPTH_MODEL, DepthEstimator, resolve_depth_model
from .cancel import Cancel
from .cost import Cost, VideoShape, finishing_cost, segment_flops, video_cost
from .errors import CancelledError, InputError, OutOfMemoryError
from .families.catalogue import DEFAULT_MODEL, KINDS, ModelSource
from .families.family import Animation, LoadedModel, RunContext
from .families.loading import is_downloaded, with_hub_defaults
from .finish.extend import extend
from .finish.models import FinishModels
from .finish.options import FinishOptions, check_finish
from .finish.rife import DEFAULT_RIFE
from .finish.stage import Finished, run_finishing
from .finish.upscale import DEFAULT_UPSCALER
from .input.sizing import fit_image
from .loras.apply import put_loras
from .loras.library import lora_uses
from .model_slot import ModelSlot
from .models.device import describe_device, resolve_device
from .models.download import download_reporter
from .models.memory import (
    DECODE_CHUNK,
    available_gpu_bytes,
    choose_profile,
    decode_chunk_for_memory,
    release_memory,
    usable_gpu_bytes,
)
from .models.speed import SpeedOptions
from .preview import Previews
from .request import GenerationRequest, GenerationSettings
from .resolution import resolve_settings
from .results import EngineStatus, GenerationResult, Progress
from .seeds import offset_seed
from .settings import Limits, Settings

logger = logging.getLogger("svd")


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class Watch:
    """What follows a run as it goes: its progress reports, its cancel, the live previews it asked for, and the
    picture the whole video ends on (at the settings' size: the last segment's last frame, when extended)."""

    progress: ProgressCallback | None
    cancel: Cancel | None
    previews: Previews | None
    ending: Image.Image | None = None


class Engine:
    """Loads models on demand (downloading them if needed) and turns `GenerationRequest`s into frames."""

    def __init__(
        self,
        device: str = "auto",
        default_model: str = DEFAULT_MODEL,
        speed: SpeedOptions | None = None,
        default_depth_model: str = DEFAULT_DEPTH_MODEL,
        interpolator: str = DEFAULT_RIFE,
        upscaler: str = DEFAULT_UPSCALER,
        limits: Limits | None = None,
    ):
        self.device = resolve_device(device)
        self.device_name = describe_device(self.device)
        self.speed = speed or SpeedOptions()
        self.dtype = torch.float16 if self.device.type == "cuda" else torch.float32
        self.default_depth_model = default_depth_model
        self.limits = limits or Limits()
        """The most one request may ask for; every request is checked against them before any work."""
        self.worker = "0"
        """Which engine this is: its number among the process's engines (svd.serve.pool), or a Ray replica's id;
        recorded in each video's sidecar."""
        self.generating = False
        """True while a request runs on the device (not while one waits for the model)."""
        self._depth = DepthEstimator()
        self._depth_lock = threading.Lock()
        """Guards the depth model alone, so camera previews need not wait for a generation to end."""
        report = download_reporter("a finishing model")
        self.finishing = FinishModels(self.device, self.dtype, interpolator, upscaler, report)
        self._lock = threading.RLock()
        self.slot = ModelSlot(self.device, self.device_name, self.dtype, default_model, self._lock)
        self._decode_steps_estimate = 1.0
        """How many denoising steps the VAE decode takes, learned from the last run; used for the ETA."""

    def describe(self, memory: str = "auto") -> str:
        """The device and, on a GPU, the memory profile that `memory` resolves to there, for the log."""
        if self.device.type != "cuda":
            return self.device_name
        profile = choose_profile(memory, self.device, *self.source().defaults.profile_needs())
        free = available_gpu_bytes(self.device) / 1024**3
        return f"{self.device_name}, {free:.1f} GiB free; memory profile {memory} -> {profile}"

    # Models: the one loaded model (`svd.model_slot`)

    @property
    def status(self) -> EngineStatus:
        return self.slot.status

    @property
    def loaded(self) -> LoadedModel | None:
        return self.slot.loaded

    @property
    def loaded_model(self) -> str | None:
        """The name of the loaded model, if any."""
        return self.slot.loaded.source.name if self.slot.loaded is not None else None

    def source(self, model: str | None = None) -> ModelSource:
        return self.slot.source(model)

    def load(self, model: str | None = None) -> LoadedModel:
        """Make `model` the loaded model; the one loaded before stays until it is ready, and if it fails."""
        return self.slot.load(model)

    def load_in_background(self, model: str | None = None) -> threading.Thread:
        return self.slot.load_in_background(model)

    def unload(self) -> None:
        self.slot.unload()

    def disparity(self, picture: Image.Image, model: str | None = None) -> np.ndarray:
        """The picture's relative disparity (1 nearest) from depth model `model` (default: the engine's), which is
        loaded, and downloaded if needed, on first use. Its download is logged but leaves the status to the SVD
        model, which may be loading at the same time."""
        name = resolve_depth_model(model or self.default_depth_model).name
        with self._depth_lock:
            if self._depth.name != name:
                report = download_reporter(f"the depth model {name}")
                self._depth.load(name, self.device, self.dtype, report)
            return self._depth.estimate(picture)

    # Generation

    def prepare(self, request: GenerationRequest, progress: ProgressCallback | None = None) -> GenerationSettings:
        """Resolve and validate the request's settings without loading any model, so errors come at once (a Hub
        LoRA it names is downloaded now, its progress reported as a note)."""
        source = with_hub_defaults(self.source(request.model))
        profile = choose_profile(request.memory, self.device, *source.defaults.profile_needs())
        request = replace(request, depth_model=request.depth_model or self.default_depth_model)
        settings = resolve_settings(request, source.name, source.defaults, profile, DECODE_CHUNK[profile])
        if self.speed.decode_chunk_from_memory and request.decode_chunk_size is None and self.device.type == "cuda":
            usable = usable_gpu_bytes(self.device)
            chunk = decode_chunk_for_memory(usable, settings.width, settings.height, settings.num_frames, self.dtype)
            settings = replace(settings, decode_chunk_size=chunk)
        if request.loras:
            report = download_reporter("a LoRA", _noting(progress))
            uses = lora_uses(request.loras, settings.family, KINDS, Settings.from_env().loras_dir, report)
            settings = replace(settings, loras=uses)
        if settings.depth_model is not None:
            settings = replace(settings, depth_model=resolve_depth_model(settings.depth_model).name)
        if settings.upscale != "none":
            settings = replace(settings, upscaler=settings.upscaler or self.finishing.default_upscaler)
            self.finishing.check_upscaler(settings.upscaler)
        self.cost(settings).check(self.limits)
        return settings

    def cost(self, settings: GenerationSettings) -> Cost:
        """What a generation with these settings costs, in units of `unit_flops`."""
        shape = VideoShape(settings.num_frames, settings.fps, settings.width, settings.height, settings.variations)
        finishing = self.finishing.work(settings.upscaler)
        guided = settings.max_guidance_scale > 1
        return video_cost(
            shape,
            self.source(settings.model).work_steps(settings.num_inference_steps),
            guided,
            settings.finish,
            KINDS[settings.family].work,
            finishing,
            self.unit_flops,
        )

    def finish_cost(self, shape: VideoShape, options: FinishOptions) -> Cost:
        """What finishing a video of `shape` made before costs."""
        return finishing_cost(shape, options, self.finishing.work(options.upscaler), self.unit_flops)

    @property
    def unit_flops(self) -> float:
        """The work of one unit of cost: a video at the server model's own settings."""
        source = self.source()
        own = source.defaults
        guided = own.max_guidance_scale > 1
        steps = source.work_steps(own.num_inference_steps)
        return segment_flops(own.num_frames, own.width * own.height, steps, guided, KINDS[own.family].work)

    def generate(
        self,
        request: GenerationRequest,
        progress: ProgressCallback | None = None,
        cancel: Cancel | None = None,
        preview_every: int = 0,
    ) -> GenerationResult:
        """The request's one video (`generate_videos` makes a request's variations)."""
        if request.variations != 1:
            raise ValueError("a request for variations makes several videos: use generate_videos")
        return self.generate_videos(request, progress, cancel, preview_every)[0]

    def generate_videos(
        self,
        request: GenerationRequest,
        progress: ProgressCallback | None = None,
        cancel: Cancel | None = None,
        preview_every: int = 0,
    ) -> list[GenerationResult]:
        """The request's videos, one per variation (seed, seed + 1, ...): in one batch, or one after another when
        the batch does not fit in memory. `preview_every`: report a live preview of the first video every that many
        denoising steps, and at the last (0: none)."""
        if is_downloaded(self.source(request.model)):  # else its family and defaults are known once it is
            self.prepare(request, progress)  # fail on bad settings before loading anything
        with self._lock:
            already_loaded = self.slot.loaded is not None and self.slot.loaded.source == self.source(request.model)
            loaded = self.load(request.model)
            settings = self.prepare(request, progress)  # again: a Hub model's defaults are known once it is downloaded
            timings = {} if already_loaded else {"load": loaded.load_seconds}
            self.generating = True
            try:
                loaded.family.place(loaded, settings, self.device, self.speed)
                put_loras(loaded.pipe, settings.loras, loaded.family.load_lora, loaded.source.shown)
                size = (settings.width, settings.height)
                picture = fit_image(request.image.image, size, settings.resize)
                last = request.last_frame
                ending = fit_image(last.image, size, settings.resize) if last is not None else None
                seeds = [offset_seed(settings.seed, index) for index in range(settings.variations)]
                watch = Watch(progress, cancel, self._previews(loaded, preview_every), ending)
                runs = self._animate_variations(loaded.pipe, picture, settings, seeds, watch)
                return [
                    self._video(loaded, replace(settings, seed=seed, variation=index), run, index, request, timings,
                                watch)
                    for index, (seed, run) in enumerate(zip(seeds, runs, strict=True))
                ]  # fmt: skip
            finally:
                self.generating = False

    def _animate_variations(self, pipe, picture, settings, seeds, watch: Watch) -> list[Animation]:
        """One animation per seed: the batch's for each, or each its own when the batch ran out of memory."""
        try:
            return [self._animate(pipe, picture, settings, seeds, watch, last=settings.extend == 1)] * len(seeds)
        except OutOfMemoryError:
            if len(seeds) == 1:
                raise
            logger.info(f"{len(seeds)} variations at once do not fit in memory; making them one after another")
        return [
            self._animate(
                pipe, picture, replace(settings, seed=seed), [seed], watch, (index, len(seeds)), settings.extend == 1
            )
            for index, seed in enumerate(seeds)
        ]

    def _video(
        self,
        loaded: LoadedModel,
        settings: GenerationSettings,
        run: Animation,
        index: int,
        request: GenerationRequest,
        timings: dict[str, float],
        watch: Watch,
    ) -> GenerationResult:
        """Video `index` of `run` (a batch of one or more), extended and finished as its settings say."""
        position = index if len(run.frames) > 1 else 0
        frames, camera, timings = run.frames[position], run.cameras[position], dict(timings)
        seeds = None
        if settings.extend > 1:
            started = time.perf_counter()
            segment = partial(self._segment, loaded.pipe, settings, watch)
            extended = extend(frames, settings.seed, settings.extend, segment)
            frames, seeds = extended.frames, extended.seeds
            timings["finish_extend"] = time.perf_counter() - started
        finished = self._finish(frames, settings.fps, settings.finish, watch.progress, watch.cancel)
        steps = run.step_seconds
        timings.update(camera.timings if camera else {})
        timings.update(run.timer.totals())
        timings.setdefault("denoise", 0.0)
        timings["pipeline"] = run.seconds
        timings.update(finished.timings)
        if steps and timings.get("vae_decode"):
            self._decode_steps_estimate = timings["vae_decode"] / len(run.frames) / (sum(steps) / len(steps))
        return GenerationResult(
            frames=finished.frames,
            model_frames=frames,
            video_fps=finished.fps,
            segment_seeds=seeds,
            interpolation_method=finished.interpolation_method,
            notes=finished.notes,
            settings=settings,
            input=request.image,
            last_frame=request.last_frame,
            timings=timings,
            step_seconds=steps,
            peak_vram_bytes=run.peaks[0],
            peak_vram_reserved_bytes=run.peaks[1],
            device=str(self.device),
            worker=self.worker,
            speed=self.speed.describe(),
            dtype=str(loaded.pipe.dtype).removeprefix("torch."),
            notice=loaded.source.defaults.notice,
            guide=camera.guide.frames if camera else None,
            cost_units=self.cost(settings).units,
        )

    def finish(self, frames: np.ndarray, fps: int, options: FinishOptions, cancel: Cancel | None = None) -> Finished:
        """Finish frames made before (interpolate, upscale, loop) without generating; extend needs a generation.
        An upscale or a loop is made as the frames are read: read them while holding this engine."""
        options = check_finish(options)
        if options.extend > 1:
            raise InputError("extend animates new segments, so a finished video cannot be extended", "generate again")
        count, height, width, _ = frames.shape
        self.finish_cost(VideoShape(count, fps, width, height), options).check(self.limits)
        with self._lock:
            return self._finish(frames, fps, options, None, cancel)

    def _finish(
        self,
        frames: np.ndarray,
        fps: int,
        options: FinishOptions,
        progress: ProgressCallback | None,
        cancel: Cancel | None,
    ) -> Finished:
        if progress is not None and (options.interpolate > 1 or options.upscale != "none" or options.loop != "none"):
            progress(Progress("finishing", 0, 0))
        return run_finishing(frames, fps, options, self.finishing, cancel)

    def _segment(self, pipe, settings, watch: Watch, picture: Image.Image, seed: int, index: int) -> np.ndarray:
        """Segment `index` of an extended video: the same settings from `picture` with `seed`."""
        segment_settings = replace(settings, seed=seed)
        last = index == settings.extend - 1
        run = self._animate(pipe, picture, segment_settings, [seed], watch, (index, settings.extend), last)
        return run.frames[0]

    def _previews(self, loaded: LoadedModel, every: int) -> Previews | None:
        """Previews every `every` steps (None for 0), with the map fitted to the model's VAE on first use."""
        if every <= 0:
            return None
        if loaded.preview is None:
            loaded.preview = loaded.family.fit_latent_preview(loaded.pipe)
        return Previews(loaded.preview, every)

    def _animate(
        self,
        pipe: DiffusionPipeline,
        picture: Image.Image,
        settings: GenerationSettings,
        seeds: list[int],
        watch: Watch,
        segment: tuple[int, int] = (0, 1),
        last: bool = True,
    ) -> Animation:
        """`last`: this run makes the end of the video, which ends on `watch.ending` when there is one."""
        try:
            loaded = self.slot.loaded
            run = RunContext(
                self.device, self.speed, loaded.compiled, partial(self.disparity, model=settings.depth_model),
                watch.progress, watch.cancel, segment, self._decode_steps_estimate, watch.previews,
                watch.ending if last else None,
            )  # fmt: skip
            return loaded.family.animate(pipe, picture, settings, seeds, run)
        except (OutOfMemoryError, CancelledError):
            release_memory(self.device)
            raise


def _noting(progress: ProgressCallback | None) -> Callable[[str, float | None], None] | None:
    """A download's progress (`download_reporter`'s `tell`) said as a run's progress note."""
    if progress is None:
        return None
    return lambda text, fraction: progress(Progress("downloading", 0, 0, note=text))
