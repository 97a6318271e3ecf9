"""One run of diffusers' WanImageToVideoPipeline per seed (`svd.families.flow.animate_each_seed`): the prompt that
describes the motion, a camera move's start from its guide, and UniPC's estimate of the clean latents for the live
previews. Seeds run one after another, each exactly as a direct call of the pipeline with that seed makes it.
"""

from __future__ import annotations

import numpy as np
import torch
from diffusers import WanImageToVideoPipeline
from PIL import Image

from ...request import GenerationSettings
from ..family import Animation, RunContext
from ..flow import StepDone, animate_each_seed, as_bytes
from .guide_start import skipping, start_from_guide


def animate(
    pipe: WanImageToVideoPipeline,
    picture: Image.Image,
    settings: GenerationSettings,
    seeds: list[int],
    run: RunContext,
) -> Animation:
    """Animate `picture` (already at the settings' size) once per seed (its speed switches are set as it is
    placed: `svd.families.flow`)."""
    stages = {
        "text_encoder": pipe.text_encoder,
        "image_encoder": pipe.image_encoder,
        "denoise": (pipe.transformer, pipe.transformer_2),
        "vae_decode": pipe.vae.decoder,
    }
    return animate_each_seed(pipe, picture, settings, seeds, run, stages, start_from_guide, _call)


def _call(
    pipe: WanImageToVideoPipeline,
    picture: Image.Image,
    settings: GenerationSettings,
    start: dict,
    step_done: StepDone,
) -> np.ndarray:
    """The pipeline for the settings' seed, as its documentation calls it, from a camera move's `latents` with its
    first `skip` steps left out."""
    two_experts = pipe.config.boundary_ratio is not None

    def estimate() -> torch.Tensor | None:
        """UniPC keeps its last converted model output (the clean latents) in `model_outputs`."""
        kept = getattr(pipe.scheduler, "model_outputs", None) or [None]
        return kept[-1][0].transpose(0, 1) if kept[-1] is not None else None  # (frames, channels, h, w)

    def on_step_end(pipeline, step, timestep, callback_kwargs):
        step_done(estimate)
        return callback_kwargs

    with skipping(pipe, start.get("skip", 0)):
        output = pipe(
            image=picture,
            last_image=start["last_frame"],
            prompt=settings.video_text[0],
            negative_prompt=settings.video_text[1],
            height=settings.height,
            width=settings.width,
            num_frames=settings.num_frames,
            num_inference_steps=settings.num_inference_steps,
            guidance_scale=settings.max_guidance_scale,
            guidance_scale_2=settings.guidance_scale_2 if two_experts else None,
            generator=torch.Generator("cpu").manual_seed(settings.seed),
            latents=start.get("latents"),
            output_type="np",
            callback_on_step_end=on_step_end,
        )
    return as_bytes(output.frames[0])
