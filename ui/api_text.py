"""The text endpoints of the API: `/first_frames` (a prompt in, candidate first frames out) and `/text_to_video` (a
prompt in, what `/generate` returns out). Only the prompt is required; each input is described and checked like
`/generate`'s.

    Client(url).predict("a lighthouse at dusk", api_name="/text_to_video")

No `from __future__ import annotations` here: Gradio reads this module's type hints at run time to describe the API.
"""

from collections.abc import Callable
from typing import Literal

import gradio as gr
from gradio import FileData

from svd.camera.moves import NO_CAMERA
from svd.errors import SvdError
from svd.finish.options import LOOPS, UPSCALE_CHOICES
from svd.input.sizing import ASPECT_NAMES, aspect_size
from svd.models.entries import ModelDefaults
from svd.seeds import MAX_SEED, RANDOM_SEED
from svd.text.catalogue import TEXT_MODELS
from svd.text.first_frames import MAX_CANDIDATES

from .api import (
    RETURNS,
    CameraChoice,
    ModelChoice,
    describe,
    input_defaults,
    no_progress,
    parameter_help,
    video_outputs,
)
from .api_checks import CHECKS, FIRST_FRAME_CHECKS, TEXT_CHECKS, checked, refuse_at_once
from .candidates import T2I_LIMITS, CandidateMaker, TextRequest, text_to_video
from .generation import Controls, Runner
from .status import GPU_QUEUE

FIRST_FRAME_RETURNS = (
    ("first_frames", "the candidates as PNGs at the video's size for the aspect; candidate i was made with seed + i"),
    ("details", "the seeds, the size, the prompt that reached the model (with its style), the negative prompt, the "
     "style, the text-to-image model with its steps and guidance, a notice (e.g. that a long prompt was cut), and "
     "what they cost (cost_units)"),
)  # fmt: skip


def text_help(defaults: ModelDefaults) -> dict[str, str]:
    width, height = aspect_size("16:9", defaults)
    (low_steps, high_steps), (low_guidance, high_guidance) = T2I_LIMITS.values()
    own = {key: ", ".join(f"{name} {getattr(model, key):g}" for name, model in TEXT_MODELS.items())
           for key in ("steps", "guidance")}  # fmt: skip
    return {
        "prompt": "what the first frame shows, in plain words; the style wraps it in its own (the text encoder takes "
        "77 tokens: a longer prompt is cut, and the notice says so)",
        "negative_prompt": "what the first frame should not show (added to the style's own)",
        "style": "a style preset, whose template wraps the prompt (python -m svd styles lists them)",
        "aspect": f"the video's aspect: the first frame is made at the model's size for it (16:9: {width}x{height})",
        "count": f"how many candidates, 1-{MAX_CANDIDATES}",
        "seed": f"seed of the first candidate, 0-{MAX_SEED} (candidate i uses seed + i); {RANDOM_SEED} draws one",
        "t2i_model": f"empty for the server's text-to-image model (SVD_T2I_MODEL), or {', '.join(TEXT_MODELS)}, the "
        "name of a folder in the server's models folder, or a Hub id (owner/name) where the server allows it "
        "(SVD_HUB_MODELS)",
        "t2i_steps": f"text-to-image steps, {low_steps:g}-{high_steps:g}; null for the model's own ({own['steps']})",
        "t2i_guidance": f"text-to-image guidance, {low_guidance:g}-{high_guidance:g}; null for the model's own "
        f"({own['guidance']})",
        "model": f"the SVD model whose sizes the first frames take: {parameter_help(defaults)['model']}",
    }


def text_to_video_help(defaults: ModelDefaults) -> dict[str, str]:
    """`/text_to_video`'s inputs: the text ones, then `/generate`'s, with one seed and model for both stages."""
    video = parameter_help(defaults)
    seed = f"seed of both the first frame and the video, 0-{MAX_SEED}; {RANDOM_SEED} draws one (returned in "
    seed += "settings as seed and t2i_seed)"
    model = f"{video['model']} (the first frame takes its size for the aspect)"
    return {**video, **text_help(defaults), "seed": seed, "model": model}  # the prompt is the first frame's


AspectChoice = Literal[tuple(ASPECT_NAMES)]
TextModelChoice = Literal[("", *TEXT_MODELS)]


def register_text(runner: Runner, maker: CandidateMaker, defaults: ModelDefaults, demo: gr.Blocks) -> dict[str, list]:
    """Add `/first_frames` and `/text_to_video` on the GPU's one-at-a-time queue; returns their inputs' defaults."""
    first_frames = first_frames_endpoint(runner, maker)
    text_to_video_api = text_to_video_endpoint(runner, maker, defaults)
    gr.api(first_frames, api_name="first_frames", concurrency_limit=runner.pool.size, concurrency_id=GPU_QUEUE)
    describe(demo, first_frames, text_help(defaults), FIRST_FRAME_RETURNS)
    gr.api(text_to_video_api, api_name="text_to_video", concurrency_limit=runner.pool.size, concurrency_id=GPU_QUEUE)
    describe(demo, text_to_video_api, text_to_video_help(defaults), RETURNS)
    for endpoint in (first_frames, text_to_video_api):
        refuse_at_once(demo, endpoint, runner.settings)
    return {"first_frames": input_defaults(first_frames), "text_to_video": input_defaults(text_to_video_api)}


def first_frames_endpoint(runner: Runner, maker: CandidateMaker) -> Callable:
    StyleChoice = Literal[tuple(maker.styles)]

    def first_frames(
        request: gr.Request,
        prompt: str,
        negative_prompt: str = "",
        style: StyleChoice = "none",  # type: ignore[valid-type]
        aspect: AspectChoice = "16:9",  # type: ignore[valid-type]
        count: int = 4,
        seed: int = RANDOM_SEED,
        t2i_model: TextModelChoice | str = "",
        t2i_steps: int = None,  # type: ignore[assignment]  # noqa: RUF013 (view_api adds `| None` itself)
        t2i_guidance: float = None,  # type: ignore[assignment]  # noqa: RUF013
        model: ModelChoice | str = "",
    ) -> tuple[list[FileData], dict]:
        """Make candidate first frames for a text-to-video run from a prompt."""
        try:
            given = dict(
                prompt=prompt, negative_prompt=negative_prompt, style=style, aspect=aspect, count=count, seed=seed,
                t2i_model=t2i_model, t2i_steps=t2i_steps, t2i_guidance=t2i_guidance, model=model,
            )  # fmt: skip
            asked = _text_request(checked(FIRST_FRAME_CHECKS, given), runner.settings.memory)
            made = maker.make(asked, no_progress, request.username)
        except SvdError as error:
            raise gr.Error(str(error), print_exception=False) from None
        return [FileData(path=str(candidate.path)) for candidate in made.items], made.details()

    return first_frames


def text_to_video_endpoint(runner: Runner, maker: CandidateMaker, defaults: ModelDefaults) -> Callable:
    StyleChoice = Literal[tuple(maker.styles)]

    async def text_to_video_api(
        request: gr.Request,
        prompt: str,
        negative_prompt: str = "",
        style: StyleChoice = "none",  # type: ignore[valid-type]
        aspect: AspectChoice = "16:9",  # type: ignore[valid-type]
        t2i_model: TextModelChoice | str = "",
        t2i_steps: int = None,  # type: ignore[assignment]  # noqa: RUF013
        t2i_guidance: float = None,  # type: ignore[assignment]  # noqa: RUF013
        motion: int = defaults.motion_bucket_id,
        frames: int = defaults.num_frames,
        fps: int = defaults.fps,
        seed: int = RANDOM_SEED,
        steps: int = defaults.num_inference_steps,
        min_cfg: float = None,  # type: ignore[assignment]  # noqa: RUF013
        max_cfg: float = None,  # type: ignore[assignment]  # noqa: RUF013
        noise_aug: float = defaults.noise_aug_strength,
        decode_chunk: int = 0,
        memory: Literal["auto", "full", "balanced", "low"] = runner.settings.memory,  # type: ignore[assignment]
        model: ModelChoice | str = "",
        camera: CameraChoice = NO_CAMERA,  # type: ignore[valid-type]
        camera_strength: float = None,  # type: ignore[assignment]  # noqa: RUF013
        camera_amount: float = 1.0,
        extend: int = 1,
        interpolate: int = 1,
        upscale: Literal[UPSCALE_CHOICES] = "none",  # type: ignore[valid-type]
        loop: Literal[LOOPS] = "none",  # type: ignore[valid-type]
        formats: str = "mp4",
        variations: int = 1,
        last_frame: FileData = None,  # type: ignore[assignment]
        loras: str = "",
    ) -> tuple[FileData, FileData, dict]:
        """Make a first frame from a prompt and animate it into a short MP4."""
        try:
            given = dict(
                prompt=prompt, negative_prompt=negative_prompt, style=style, aspect=aspect, t2i_model=t2i_model,
                t2i_steps=t2i_steps, t2i_guidance=t2i_guidance, motion=motion, frames=frames, fps=fps, seed=seed,
                size="auto", resize="crop", steps=steps, min_cfg=min_cfg, max_cfg=max_cfg, noise_aug=noise_aug,
                decode_chunk=decode_chunk, memory=memory, model=model, camera=camera,
                camera_strength=camera_strength, camera_amount=camera_amount, extend=extend, interpolate=interpolate,
                upscale=upscale, loop=loop, formats=formats, variations=variations, last_frame=last_frame,
                loras=loras,
            )  # fmt: skip
            video = {**given, "prompt": None, "negative_prompt": None}  # the text reaches the video with the picture
            controls = Controls(**checked(CHECKS, video))
            text = checked(TEXT_CHECKS, given)
            asked = _text_request({**text, "seed": controls.seed, "model": controls.model}, controls.memory)
            _, saved = await text_to_video(maker, runner, asked, controls, no_progress, user=request.username)
            return video_outputs(saved)
        except SvdError as error:
            raise gr.Error(str(error), print_exception=False) from None

    return text_to_video_api


def _text_request(values: dict, memory: str) -> TextRequest:
    """The first frames that checked API values ask for."""
    return TextRequest(
        prompt=values["prompt"], negative_prompt=values["negative_prompt"], style=values["style"],
        shape=values["aspect"], count=values.get("count", 1), seed=values["seed"], t2i_model=values["t2i_model"],
        t2i_steps=values["t2i_steps"], t2i_guidance=values["t2i_guidance"], model=values["model"], memory=memory,
    )  # fmt: skip
