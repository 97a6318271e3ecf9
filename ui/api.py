"""The `/generate` API endpoint: the picture first, every other input with a default, each one described and typed
(choices as `Literal`s), and every value checked at the edge with one line that names it.

    Client(url).predict(handle_file("photo.jpg"), api_name="/generate")

No `from __future__ import annotations` here: Gradio reads this module's type hints at run time to describe the API.
"""

from collections.abc import Callable
from typing import Literal

import gradio as gr
from gradio import FileData

from svd.camera.moves import AMOUNT_RANGE, MOVES, NO_CAMERA, CameraMove
from svd.errors import CancelledError, SvdError
from svd.families.catalogue import CATALOGUE
from svd.finish.options import FORMATS, LOOPS, MAX_SEGMENTS, UPSCALE_CHOICES
from svd.input.sizing import buckets, size_limits
from svd.models.entries import ModelDefaults
from svd.output.store import SavedGeneration
from svd.request import LIMITS, LORA_STRENGTH, MAX_LORAS
from svd.seeds import MAX_SEED, RANDOM_SEED

from .api_checks import CHECKS, api_parameters, checked, endpoint_of, picture_or_none, refuse_at_once
from .generation import Controls, Runner
from .status import GPU_QUEUE

ModelChoice = Literal[("", *CATALOGUE)]
CameraChoice = Literal[tuple(MOVES)]

API_NAME = "generate"


def parameter_help(defaults: ModelDefaults) -> dict[str, str]:
    max_side, max_pixels = size_limits(defaults)
    return {
        "picture": "the picture to animate, as handle_file('photo.jpg'): any size and aspect, PNG, JPEG, WebP, GIF, "
        "BMP or TIFF",
        "motion": "motion bucket, 1-255: how much moves (SVD only); null for the model's own (127)",
        "frames": f"frames to generate, {LIMITS['num_frames'][0]:g}-{LIMITS['num_frames'][1]:g} "
        f"(the model was trained for {defaults.num_frames})",
        "fps": "frames per second: conditions the model (as fps - 1) and is the MP4's rate",
        "seed": f"random seed, 0-{MAX_SEED}; {RANDOM_SEED} draws one (returned in settings)",
        "size": f"auto (the aspect bucket nearest the picture), a bucket, or WIDTHxHEIGHT snapped to multiples of "
        f"{defaults.size_multiple}; at most {max_side} px a side and {max_pixels:,} pixels",
        "resize": "how the picture fills the size: crop (cover, then centre-crop), pad (fit, then black bars) or "
        "stretch",
        "steps": "denoising steps: more is slower and a little cleaner",
        "min_cfg": "guidance on the first frame; it ramps linearly to max_cfg on the last frame; null for the "
        "model's own (1.0)",
        "max_cfg": "guidance on the last frame: higher follows the picture more closely, too high over-sharpens; "
        "null for the model's own (3.0; 1.0 for Turbo, which then needs no guidance batch)",
        "noise_aug": "noise added to the picture, 0-1: more gives more motion and less likeness (SVD only); null for "
        "the model's own (0.02)",
        "decode_chunk": "frames the VAE decodes at once: fewer use less GPU memory, 1 flickers; 0 follows the "
        "memory profile",
        "memory": "GPU memory profile: full (all on the GPU, fastest), balanced (models moved to the GPU as they "
        "run), low (also chunked; SVD-XT under 8 GB) or auto (by free memory); ignored on a CPU",
        "model": f"empty for the server's model, or {', '.join(CATALOGUE)} (Turbo and the -fast entries: 4 steps, "
        "several times faster, less stable), the name of a folder in the server's models folder, or a Hub id "
        "(owner/name) where the server allows it (SVD_HUB_MODELS)",
        "camera": "camera move: the video follows a guide of the move made from the picture; none leaves the camera "
        "to the model",
        "camera_strength": "how closely the video follows the camera move, 0-1 (0 is plain SVD); null for the move's "
        f"own default ({_by_kind(lambda move: f'{move.strength:g}')}); settings returns the one used",
        "camera_amount": f"how far the camera travels, {AMOUNT_RANGE[0]:g}-{AMOUNT_RANGE[1]:g}, as a multiple of the "
        f"move's usual travel ({_by_kind(lambda move: None if move.name == 'locked' else move.travel)})",
        **FINISH_HELP,
        "prompt": "what the video should show, for models that take text (Wan); null for the others",
        "negative_prompt": "what the video should not show (Wan); null for none",
        "last_frame": "a picture for the video to end on, as handle_file('end.jpg'), fitted as the picture is, for "
        "models that take one (wan2.2-i2v-a14b, LTX-Video; wan2.1-flf2v-14b-720p needs one); null for none",
        "loras": f"LoRAs for models that take them (Wan, LTX-Video), as NAME:STRENGTH separated by commas (strength "
        f"{LORA_STRENGTH[0]:g} to {LORA_STRENGTH[1]:g}, 1 if left out; at most {MAX_LORAS}): a .safetensors file's "
        "name in the server's loras folder, or a Hub name (owner/repo/file.safetensors) where the server allows it "
        "(SVD_HUB_MODELS); empty for none; settings records each with its SHA-256",
        "variations": f"videos to make, {LIMITS['variations'][0]:g}-{LIMITS['variations'][1]:g}, with seeds seed, "
        "seed + 1, ... (in one batch when they fit); settings then lists each one's settings under `videos`",
    }


FINISH_HELP = {
    "extend": f"segments to chain, 1-{MAX_SEGMENTS}: each starts from the last frame of the one before (seed + k), "
    "with its colours matched to the first",
    "interpolate": "1 (none), 2, 3 or 4: in-between frames (RIFE, else ffmpeg's minterpolate); the file plays at "
    "fps times this, the model still sees fps",
    "upscale": "none, 2 or 4 (times the size), 1080p or 4k (exactly 1920x1080 / 3840x2160 for 16:9, turned for "
    "portrait): Real-ESRGAN, then Lanczos to the exact size",
    "loop": "none, boomerang (forward then back) or crossfade (the end blends into the start)",
    "formats": f"comma-separated, any of {', '.join(FORMATS)}; MP4 is always written (GIF at most 640 px wide)",
}


def _by_kind(text: Callable[[CameraMove], str | None]) -> str:
    """`text(move)` for each kind of camera move (pan-left and pan-right are one kind; None leaves a kind out)."""
    kinds = {name.split("-")[0]: text(move) for name, move in MOVES.items() if name != NO_CAMERA}
    return ", ".join(f"{kind} {value}" for kind, value in kinds.items() if value is not None)


RETURNS = (
    ("video", "the MP4 (H.264, yuv420p), playing at fps (times interpolate)"),
    (
        "frames_zip",
        "the model's own frames, before interpolation, upscale and loop, as lossless PNGs in a zip (what /finish "
        "starts from; none for a video finished from an older one that kept none)",
    ),
    (
        "settings",
        "every setting used, with the seed, the time each stage took, what it cost (cost_units) and the versions (the "
        "JSON sidecar); also "
        "`sidecar`, the video's id for /finish, and `files`, each format written (gradio_client downloads them)",
    ),
)


def register(runner: Runner, defaults: ModelDefaults, demo: gr.Blocks) -> dict[str, list]:
    """Add `/generate` to the app, on the GPU's one-at-a-time queue; returns its inputs' defaults, in order, by
    endpoint."""
    SizeChoice = Literal[("auto", *(f"{width}x{height}" for width, height in buckets(defaults)))]

    async def generate(
        request: gr.Request,
        picture: FileData,
        motion: int = None,  # type: ignore[assignment]  # noqa: RUF013
        frames: int = defaults.num_frames,
        fps: int = defaults.fps,
        seed: int = RANDOM_SEED,
        size: SizeChoice | str = "auto",
        resize: Literal["crop", "pad", "stretch"] = "crop",
        steps: int = defaults.num_inference_steps,
        min_cfg: float = None,  # type: ignore[assignment]  # noqa: RUF013
        max_cfg: float = None,  # type: ignore[assignment]  # noqa: RUF013
        noise_aug: float = None,  # type: ignore[assignment]  # noqa: RUF013
        decode_chunk: int = 0,
        memory: Literal["auto", "full", "balanced", "low"] = runner.settings.memory,  # type: ignore[assignment]
        model: ModelChoice | str = "",
        camera: CameraChoice = NO_CAMERA,  # type: ignore[valid-type]
        # `float`, not `float | None`: view_api itself adds `| None` to a parameter whose default is None
        camera_strength: float = None,  # type: ignore[assignment]  # noqa: RUF013
        camera_amount: float = 1.0,
        extend: int = 1,
        interpolate: int = 1,
        upscale: Literal[UPSCALE_CHOICES] = "none",  # type: ignore[valid-type]
        loop: Literal[LOOPS] = "none",  # type: ignore[valid-type]
        formats: str = "mp4",
        variations: int = 1,
        prompt: str = None,  # type: ignore[assignment]  # noqa: RUF013
        negative_prompt: str = None,  # type: ignore[assignment]  # noqa: RUF013
        last_frame: FileData = None,  # type: ignore[assignment]
        loras: str = "",
    ) -> tuple[FileData, FileData, dict]:
        """Animate a picture into a short MP4 with the server's model (SVD, or Wan with a prompt)."""
        try:
            given = dict(
                motion=motion, frames=frames, fps=fps, seed=seed, size=size, resize=resize, steps=steps,
                min_cfg=min_cfg, max_cfg=max_cfg, noise_aug=noise_aug, decode_chunk=decode_chunk, memory=memory,
                model=model, camera=camera, camera_strength=camera_strength, camera_amount=camera_amount,
                extend=extend, interpolate=interpolate, upscale=upscale, loop=loop, formats=formats,
                variations=variations, prompt=prompt, negative_prompt=negative_prompt, last_frame=last_frame,
                loras=loras,
            )  # fmt: skip
            controls = Controls(**checked(CHECKS, given))
            saved = await runner.run(picture_or_none("picture", picture), controls, no_progress, user=request.username)
            return video_outputs(saved)
        except SvdError as error:
            raise gr.Error(str(error), print_exception=False) from None

    gr.api(generate, api_name=API_NAME, concurrency_limit=runner.pool.size, concurrency_id=GPU_QUEUE)
    describe(demo, generate, parameter_help(defaults), RETURNS)
    refuse_at_once(demo, generate, runner.settings)
    return {API_NAME: input_defaults(generate)}


FORMAT_KEYS = [(name, "video" if name == "mp4" else name) for name in FORMATS]
"""Each format and the sidecar key that names its file."""


def video_outputs(saved: list[SavedGeneration] | None) -> tuple[FileData, FileData | None, dict]:
    """What a video endpoint returns for the videos of a run (None: it was cancelled): the first video, the model's
    frames and its settings, which list every variation's settings under `videos` when there are several."""
    if saved is None:
        raise CancelledError("the run was cancelled")
    records = [_returned_record(video) for video in saved]
    first = records[0] if len(records) == 1 else {**records[0], "videos": records}
    model_frames = saved[0].model_frames
    return FileData(path=str(saved[0].video)), model_frames and FileData(path=str(model_frames)), first


def _returned_record(saved: SavedGeneration) -> dict:
    """The sidecar with the video's id (`sidecar`) and its files in every format (`files`), for the client."""
    formats = {name: saved.video.with_name(saved.record[key]) for name, key in FORMAT_KEYS if saved.record.get(key)}
    files = {name: FileData(path=str(path)) for name, path in formats.items()}
    return {**saved.record, "sidecar": saved.sidecar.name, "files": files}


def input_defaults(function: Callable) -> list:
    """An endpoint's inputs' defaults, in order (None for a required one)."""
    return [None if value.default is value.empty else value.default for value in api_parameters(function)]


def describe(
    demo: gr.Blocks, function: Callable, parameters: dict[str, str], returns: tuple[tuple[str, str], ...]
) -> None:
    """Give an endpoint made by `gr.api` a description per parameter and named, described returns: `gr.api` labels
    the returns 1st, 2nd, ... and takes no descriptions. Gradio reads both from its API components' type
    information (`_api_info`, which `gr.api` sets from the type hints), so they are added there."""
    endpoint = endpoint_of(demo, function)
    for component, name in zip(endpoint.inputs, [value.name for value in api_parameters(function)], strict=True):
        component._api_info = {**component._api_info, "additional_description": parameters[name]}
    for component, (name, description) in zip(endpoint.outputs, returns, strict=True):
        component.label = name
        component._api_info = {**component._api_info, "description": description}


def no_progress(*args, **kwargs) -> None:
    """API calls have no progress bar to draw."""
