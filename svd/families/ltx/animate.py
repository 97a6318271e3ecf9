"""One run of diffusers' LTXConditionPipeline per seed (`svd.families.flow.animate_each_seed`): the picture as the
condition at frame 0, the prompt that describes the motion, the frame rate (it places the frames in time, so the
model sees it), the model's own pipeline arguments (a distilled model's timesteps and decode noise), a camera move's
start from its guide, and the transformer's estimate of the clean latents for the live previews.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

import numpy as np
import torch
from diffusers import LTXConditionPipeline
from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition
from PIL import Image

from ...request import GenerationSettings
from ..family import Animation, RunContext
from ..flow import StepDone, animate_each_seed, as_bytes
from .guide_start import start_from_guide

_ARGUMENTS: WeakKeyDictionary[LTXConditionPipeline, dict] = WeakKeyDictionary()
"""Each loaded pipeline's own call arguments (its entry's `pipeline_arguments`), set by `adapt` when it loads."""


def use_arguments(pipe: LTXConditionPipeline, arguments: dict) -> None:
    _ARGUMENTS[pipe] = dict(arguments)


def call_arguments(arguments: dict, num_steps: int) -> dict:
    """A model's own call arguments for a run of `num_steps` steps: its timesteps only if it lists that many (else
    the pipeline's own schedule of `num_steps`)."""
    chosen = {key: value for key, value in arguments.items() if key != "timesteps"}
    timesteps = arguments.get("timesteps")
    if timesteps is not None and len(timesteps) == num_steps:
        chosen["timesteps"] = list(timesteps)
    return chosen


def animate(
    pipe: LTXConditionPipeline,
    picture: Image.Image,
    settings: GenerationSettings,
    seeds: list[int],
    run: RunContext,
) -> Animation:
    """Animate `picture` (already at the settings' size) once per seed (its speed switches are set as it is
    placed: `svd.families.flow`)."""
    stages = {
        "text_encoder": pipe.text_encoder,
        "vae_encode": pipe.vae.encoder,
        "denoise": pipe.transformer,
        "vae_decode": pipe.vae.decoder,
    }
    return animate_each_seed(pipe, picture, settings, seeds, run, stages, start_from_guide, _call)


def _call(
    pipe: LTXConditionPipeline,
    picture: Image.Image,
    settings: GenerationSettings,
    start: dict,
    step_done: StepDone,
) -> np.ndarray:
    """The pipeline for the settings' seed, as diffusers' documentation calls it, from a camera move's guide
    latents and denoise strength when there is one; a last frame is a second condition, at the last frame."""
    seen = _TransformerWatch(pipe, settings)

    def on_step_end(pipeline, step, timestep, callback_kwargs):
        step_done(seen.estimate)
        return callback_kwargs

    last = start["last_frame"]
    conditions = dict(image=picture)
    if last is not None:  # as conditions: given as lists, `image` and `frame_index` keep only the first picture
        at_end = LTXVideoCondition(image=last, frame_index=settings.num_frames - 1)
        conditions = dict(conditions=[LTXVideoCondition(image=picture), at_end])
    with seen:
        output = pipe(
            **conditions,
            prompt=settings.video_text[0],
            negative_prompt=settings.video_text[1],
            height=settings.height,
            width=settings.width,
            num_frames=settings.num_frames,
            frame_rate=settings.fps,
            num_inference_steps=settings.num_inference_steps,
            guidance_scale=settings.max_guidance_scale,
            generator=torch.Generator("cpu").manual_seed(settings.seed),
            latents=start.get("latents"),
            denoise_strength=start.get("denoise_strength", 1.0),
            output_type="np",
            callback_on_step_end=on_step_end,
            **call_arguments(_ARGUMENTS.get(pipe, {}), settings.num_inference_steps),
        )
    return as_bytes(output.frames[0])


class _TransformerWatch:
    """While open, keeps the transformer's last input, timesteps and prediction, from which `estimate` gives the
    clean latents of the step: x0 = x - sigma * v per token (sigma = its timestep / 1000; the picture's tokens are
    at 0), with the guidance the pipeline applies when it runs two branches."""

    def __init__(self, pipe: LTXConditionPipeline, settings: GenerationSettings):
        self.pipe = pipe
        spatial, temporal = pipe.vae_spatial_compression_ratio, pipe.vae_temporal_compression_ratio
        self.shape = ((settings.num_frames - 1) // temporal + 1, settings.height // spatial, settings.width // spatial)
        self.seen: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
        self._inputs: tuple[torch.Tensor, torch.Tensor] | None = None
        self._handles: list = []

    def __enter__(self) -> _TransformerWatch:
        transformer = self.pipe.transformer
        self._handles = [
            transformer.register_forward_pre_hook(self._keep_inputs, with_kwargs=True),
            transformer.register_forward_hook(self._keep_output),
        ]
        return self

    def __exit__(self, *exc_info) -> None:
        for handle in self._handles:
            handle.remove()
        self.seen = self._inputs = None

    def _keep_inputs(self, module, args, kwargs) -> None:
        self._inputs = (kwargs["hidden_states"], kwargs["timestep"])

    def _keep_output(self, module, args, output) -> None:
        assert self._inputs is not None
        self.seen = (*self._inputs, output[0] if isinstance(output, tuple) else output.sample)

    @torch.no_grad()
    def estimate(self) -> torch.Tensor | None:
        """The first video's clean latents, (frames, channels, h, w), in the space the pipeline denoises."""
        if self.seen is None:
            return None
        latents, timestep, prediction = self.seen
        if self.pipe.do_classifier_free_guidance:  # the unconditional branch first, as the pipeline batches them
            unconditional, conditional = prediction.float().chunk(2)
            prediction = unconditional + self.pipe.guidance_scale * (conditional - unconditional)
        sigma = (timestep[:1].float() / 1000).reshape(1, -1, 1)
        clean = latents[:1].float() - sigma * prediction[:1].float()
        frames, height, width = self.shape
        clean = clean[:, -frames * height * width :]  # after any extra condition tokens
        patch, patch_t = self.pipe.transformer_spatial_patch_size, self.pipe.transformer_temporal_patch_size
        unpacked = self.pipe._unpack_latents(clean, frames, height, width, patch, patch_t)
        return unpacked[0].transpose(0, 1)
