"""The `/finish` API endpoint: finish a video made before (its id is the `sidecar` that /generate returns in its
settings, or a history item's) with interpolation, upscaling, a loop and more formats, without generating again.

    Client(url).predict("20261123-101500-photo.json", interpolate=2, loop="boomerang", api_name="/finish")

No `from __future__ import annotations` here: Gradio reads this module's type hints at run time to describe the API.
"""

from typing import Literal

import gradio as gr
from gradio import FileData

from svd.errors import SvdError
from svd.finish.options import LOOPS, UPSCALE_CHOICES, FinishOptions, parse_formats

from .api import FINISH_HELP, RETURNS, describe, input_defaults, no_progress, video_outputs
from .api_checks import FINISH_CHECKS, checked, refuse_at_once, text
from .generation import Runner
from .status import GPU_QUEUE

API_NAME = "finish"


def register_finish(runner: Runner, demo: gr.Blocks) -> dict[str, list]:
    """Add `/finish` on the GPU's queue (its models share the GPU); returns its inputs' defaults."""

    async def finish(
        request: gr.Request,
        video: str,
        interpolate: int = 1,
        upscale: Literal[UPSCALE_CHOICES] = "none",  # type: ignore[valid-type]
        loop: Literal[LOOPS] = "none",  # type: ignore[valid-type]
        formats: str = "mp4",
    ) -> tuple[FileData, FileData, dict]:
        """Finish a video made before (interpolate, upscale, loop, formats) into a new video beside it."""
        try:
            given = dict(interpolate=interpolate, upscale=upscale, loop=loop, formats=formats)
            values = checked({name: FINISH_CHECKS[name] for name in given}, given)
            options = FinishOptions(
                interpolate=values["interpolate"],  # type: ignore[arg-type]
                upscale=values["upscale"],  # type: ignore[arg-type]
                loop=values["loop"],  # type: ignore[arg-type]
                formats=parse_formats(values["formats"]),  # type: ignore[arg-type]
            )
            saved = await runner.finish(text("video", video), options, no_progress, user=request.username)
            return video_outputs(None if saved is None else [saved])
        except SvdError as error:
            raise gr.Error(str(error), print_exception=False) from None

    gr.api(finish, api_name=API_NAME, concurrency_limit=runner.pool.size, concurrency_id=GPU_QUEUE)
    parameters = {"video": "the video's id: the `sidecar` file name in the settings /generate returned"}
    parameters |= {name: FINISH_HELP[name] for name in ("interpolate", "upscale", "loop", "formats")}
    describe(demo, finish, parameters, RETURNS)
    refuse_at_once(demo, finish, runner.settings)
    return {API_NAME: input_defaults(finish)}
