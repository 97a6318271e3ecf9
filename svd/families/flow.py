"""What the flow-matching transformer families (Wan, LTX-Video) share, so that each keeps only what differs: one
pipeline run per seed with its camera start, the step callback's timing and reports, out-of-memory advice, and the
placement of a memory profile with diffusers' own tools. On a GPU:

- `full`: everything on the GPU.
- `balanced`: the transformers' weights stored in fp8 and computed in the pipeline's dtype (layerwise casting: half
  the memory of their weights, which are most of it), and each model on the GPU only while it runs (model offload:
  the text encoder runs, then leaves).
- `low`: group offloading, one block at a time brought to the GPU on a CUDA stream ahead of its use, and the VAE
  decoding in tiles.

fp8 storage and group offloading cannot be undone in place, so a model placed `balanced` or `low` keeps it; asking
it for another profile later says to load it again. The speed switches the transformers take (`svd.models.speed`:
attention backend, first-block cache, regional compile) are applied after placing; the attention backend and the
cache are undone through diffusers when asked off, while compiled blocks are kept (asking otherwise says to load the
model again), and SVD's switches are refused in one line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

import numpy as np
import torch
from diffusers import DiffusionPipeline
from PIL import Image

from ..errors import CancelledError, InputError, OutOfMemoryError
from ..models.memory import out_of_memory_message, release_memory
from ..models.speed import SpeedOptions, check_options, check_transformer_attention, speed_up_transformers
from ..request import GenerationSettings
from ..results import Progress
from .camera import StartFrom, run_camera_stage
from .family import Animation, Cancelled, RunContext
from .timing import StageTimer

if TYPE_CHECKING:
    from .family import LoadedModel

Estimate = Callable[[], torch.Tensor | None]
"""The first video's clean latents as the sampler estimates them now, (frames, channels, h, w), for a preview."""
StepDone = Callable[[Estimate], None]
"""Called by a family's step callback after each step, with how to estimate the clean latents."""
Call = Callable[[DiffusionPipeline, Image.Image, GenerationSettings, dict, StepDone], np.ndarray]
"""`call(pipe, picture, settings, start, step_done)`: one video's uint8 frames for the settings' seed, from the
camera stage's `start` arguments (none without a move) and `start["last_frame"]`, the picture to end on (or None)."""
Transformers = Callable[[DiffusionPipeline], tuple[torch.nn.Module | None, ...]]
"""A family's transformers in a pipeline (Wan 2.2 A14B's second expert is None in the other Wan models)."""

_APPLIED: WeakKeyDictionary[DiffusionPipeline, SpeedOptions] = WeakKeyDictionary()
"""The speed switches each loaded pipeline's transformers run with."""


def animate_each_seed(
    pipe: DiffusionPipeline,
    picture: Image.Image,
    settings: GenerationSettings,
    seeds: list[int],
    run: RunContext,
    stages: dict,
    start_from: StartFrom,
    call: Call,
    extra_steps: int = 0,
) -> Animation:
    """Animate `picture` once per seed, one after another, each exactly as a direct pipeline call with that seed
    makes it, from its camera stage's start when there is a move. `stages`: the models `StageTimer` times, the
    denoising ones as `denoise`. A start's `skip` is how many of the steps it leaves out; `extra_steps` are run
    after the settings' steps (a second pass's). A shape the compiled transformers have not run at (`run.compiled`)
    is announced, since it compiles first."""
    device = run.device
    guided, ending = settings.max_guidance_scale > 1, run.last_frame is not None  # both change the inputs' shape
    shape = (settings.width, settings.height, settings.num_frames, guided, ending)
    compiling = run.speed.compile_transformer and shape not in run.compiled.seen
    timer = StageTimer(stages, device)
    step_times: list[float] = []
    run.check_not_cancelled()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    frames, cameras = [], []
    started = time.perf_counter()
    try:
        for position, seed in enumerate(seeds):
            settings_of_seed = replace(settings, seed=seed)
            camera = run_camera_stage(pipe, picture, settings_of_seed, run.disparity, start_from)
            start = {**(camera.pipeline_arguments if camera is not None else {}), "last_frame": run.last_frame}
            total = settings.num_inference_steps - start.get("skip", 0) + extra_steps
            index, count = run.segment
            one = replace(run, segment=(index * len(seeds) + position, count * len(seeds)))
            note = run.compiled.note if compiling and position == 0 else None
            one.report(Progress("encoding", one.segment[0] * total, one.segment[1] * total, None, note))
            with timer:
                frames.append(call(pipe, picture, settings_of_seed, start, _stepper(total, step_times, one)))
            cameras.append(camera)
        if compiling:
            run.compiled.record(shape, {"denoise": timer.calls["denoise"]})
    except torch.cuda.OutOfMemoryError:
        raise out_of_memory(settings) from None
    except Cancelled:
        raise CancelledError(f"cancelled after {len(step_times)} steps") from None
    finally:
        pipe.maybe_free_model_hooks()
    peaks = (None, None)
    if device.type == "cuda":
        peaks = (torch.cuda.max_memory_allocated(device), torch.cuda.max_memory_reserved(device))
    return Animation(frames, timer, step_times, time.perf_counter() - started, peaks, cameras)


def _stepper(total: int, step_times: list[float], run: RunContext) -> StepDone:
    """Each step's time, then `run.step_done` (progress, cancel, preview) for step 1, 2, ... of `total`."""
    last = [time.perf_counter()]
    done = [0]

    def step_done(estimate: Estimate) -> None:
        now = time.perf_counter()
        step_times.append(now - last[0])
        last[0] = now
        done[0] += 1
        run.step_done(done[0], total, step_times, estimate)

    return step_done


def as_bytes(frames: np.ndarray) -> np.ndarray:
    """A pipeline's float frames in [0, 1] rounded to bytes as its PIL output rounds them (x 255, rounded)."""
    return (frames * 255).round().astype(np.uint8)


def out_of_memory(settings: GenerationSettings) -> OutOfMemoryError:
    size = (settings.width, settings.height)
    return OutOfMemoryError(out_of_memory_message("generating", size, settings.num_frames, settings.memory_profile, 1))


def place_flow_pipeline(
    loaded: LoadedModel,
    settings: GenerationSettings,
    device: torch.device,
    speed: SpeedOptions,
    transformers: Transformers,
    tile_on_gpu: bool = False,
    masked_attention: bool = False,
) -> None:
    """Put the models where the settings' memory profile says (once per profile) with the speed switches on the
    transformers, or refuse in one line what cannot be done. `transformers(pipe)`: the models `balanced` stores in
    fp8 and the switches apply to. `tile_on_gpu`: decode in tiles on a GPU with every profile (LTX-Video's VAE
    decodes the whole video at once), not only with `low`. `masked_attention`: the transformer's attention takes a
    mask (LTX-Video's, to the prompt), which some attention kernels refuse."""
    title = loaded.family.kind.title
    check_options(speed, settings.memory_profile, "transformer", title)
    check_transformer_attention(speed.attention, device, masked_attention, title)
    applied = _APPLIED.get(loaded.pipe, SpeedOptions())
    compiled_with = (True, applied.cache)  # compiled blocks were traced through the cache hook, if any
    if applied.compile_transformer and (speed.compile_transformer, speed.cache) != compiled_with:
        raise InputError(
            f"{loaded.source.shown} runs compiled ({applied.describe()}), which is not undone in place",
            "ask for the same compile and cache switches, or load the model again (another model, then this one)",
        )
    _place(loaded, settings, device, transformers, tile_on_gpu)
    if applied != speed:
        speed_up_transformers(transformers(loaded.pipe), speed)
        _APPLIED[loaded.pipe] = speed
        loaded.sped_up = True


def _place(
    loaded: LoadedModel, settings: GenerationSettings, device: torch.device, transformers: Transformers, tile: bool
) -> None:
    """The memory profile's placement, once per profile; running out of GPU memory on the way frees what it held
    and says what to change."""
    profile = settings.memory_profile
    if loaded.profile == profile:
        return
    if loaded.profile in ("balanced", "low"):
        raise InputError(
            f"{loaded.source.shown} is placed for the {loaded.profile} memory profile, which is not undone in place",
            f"ask for the {loaded.profile} profile, or load the model again (another model, then this one)",
        )
    pipe = loaded.pipe
    loaded.profile = None
    try:
        pipe.remove_all_hooks()
        pipe.vae.disable_tiling()
        if device.type != "cuda" or profile in ("full", "cpu"):
            pipe.to(device)
        elif profile == "balanced":
            store_in_fp8(transformers(pipe), pipe.dtype)
            pipe.to("cpu")
            pipe.enable_model_cpu_offload(device=device)
        else:
            pipe.to("cpu")
            pipe.enable_group_offload(onload_device=device, num_blocks_per_group=1, use_stream=True)
        if device.type == "cuda" and (profile == "low" or tile):
            pipe.vae.enable_tiling()
        loaded.profile = profile  # type: ignore[assignment]
    except torch.cuda.OutOfMemoryError:
        pass  # raised below, once the exception and the tensors its traceback holds are gone
    if loaded.profile is None:
        release_memory(device)
        raise out_of_memory(settings)


def store_in_fp8(transformers: tuple[torch.nn.Module | None, ...], compute_dtype: torch.dtype) -> None:
    """The transformers' weights kept in fp8 (e4m3) and cast to `compute_dtype` layer by layer as they run;
    diffusers leaves the layers that need their precision (norms, embeddings) as they are."""
    for transformer in transformers:
        if transformer is not None:
            transformer.enable_layerwise_casting(storage_dtype=torch.float8_e4m3fn, compute_dtype=compute_dtype)
