"""One run of diffusers' LTXConditionPipeline per seed (`svd.families.flow.animate_each_seed`): the picture as the
condition at frame 0, the prompt that describes the motion, the frame rate (it places the frames in time, so the
model sees it), the model's own pipeline arguments (a distilled model's timesteps and decode noise), a camera move's
start from its guide, and the transformer's estimate of the clean latents for the live previews. An entry with a
latent upsampler runs the card's two passes (`svd.families.ltx.upsampler`).
"""

from __future__ import annotations

import numpy as np
import torch
from diffusers import LTXConditionPipeline
from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition
from PIL import Image

from ...request import GenerationSettings
from ..family import Animation, RunContext
from ..flow import StepDone, animate_each_seed, as_bytes
from .guide_start import start_from_guide
from .recipe import call_arguments, recipe_of
from .upsampler import resized


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
    two_pass = recipe_of(pipe).two_pass
    refine_steps = two_pass.recipe.refine_steps if two_pass is not None else 0
    return animate_each_seed(pipe, picture, settings, seeds, run, stages, start_from_guide, _call, refine_steps)


def _call(
    pipe: LTXConditionPipeline,
    picture: Image.Image,
    settings: GenerationSettings,
    start: dict,
    step_done: StepDone,
) -> np.ndarray:
    """The pipeline for the settings' seed, as diffusers' documentation calls it, from a camera move's guide
    latents and denoise strength when there is one; a last frame is a second condition, at the last frame. With a
    latent upsampler, the card's two passes: the first at its smaller size to latents, those upsampled, the second
    from them at twice that size, its frames resized to the settings' size."""
    recipe = recipe_of(pipe)
    last = start["last_frame"]
    conditions = dict(image=picture)
    if last is not None:  # as conditions: given as lists, `image` and `frame_index` keep only the first picture
        at_end = LTXVideoCondition(image=last, frame_index=settings.num_frames - 1)
        conditions = dict(conditions=[LTXVideoCondition(image=picture), at_end])
    passes = _Passes(pipe, settings, conditions, step_done)
    first = dict(latents=start.get("latents"), denoise_strength=start.get("denoise_strength", 1.0))
    own = call_arguments(recipe.arguments, settings.num_inference_steps)
    two_pass = recipe.two_pass
    if two_pass is None:
        return as_bytes(passes.run((settings.width, settings.height), settings.num_inference_steps, "np", first, own))
    size = two_pass.first_size(settings.width, settings.height, pipe.vae_spatial_compression_ratio)
    latents = passes.run(size, settings.num_inference_steps, "latent", first, own)
    refine = two_pass.recipe
    second = dict(latents=two_pass.upsample(latents), denoise_strength=refine.refine_strength)
    timesteps = list(refine.refine_timesteps)
    own = {**call_arguments(recipe.arguments, len(timesteps)), "timesteps": timesteps}
    frames = passes.run((2 * size[0], 2 * size[1]), len(timesteps), "np", second, own)
    return resized(as_bytes(frames), settings.width, settings.height)


class _Passes:
    """Calls of the pipeline with one request's inputs and seed, each at its own size and steps."""

    def __init__(self, pipe: LTXConditionPipeline, settings: GenerationSettings, conditions: dict, step_done):
        self.pipe, self.settings, self.conditions, self.step_done = pipe, settings, conditions, step_done

    def run(self, size: tuple[int, int], steps: int, output_type: str, start: dict, own: dict):
        """One pass at `size` (width, height): its frames in [0, 1] (`np`) or its latents (`latent`)."""
        settings = self.settings
        width, height = size
        seen = _TransformerWatch(self.pipe, settings.num_frames, width, height)

        def on_step_end(pipeline, step, timestep, callback_kwargs):
            self.step_done(seen.estimate)
            return callback_kwargs

        with seen:
            output = self.pipe(
                **self.conditions,
                prompt=settings.video_text[0],
                negative_prompt=settings.video_text[1],
                height=height,
                width=width,
                num_frames=settings.num_frames,
                frame_rate=settings.fps,
                num_inference_steps=steps,
                guidance_scale=settings.max_guidance_scale,
                generator=torch.Generator("cpu").manual_seed(settings.seed),
                output_type=output_type,
                callback_on_step_end=on_step_end,
                **start,
                **own,
            )
        return output.frames[0] if output_type == "np" else output.frames


class _TransformerWatch:
    """While open, keeps the transformer's last input, timesteps and prediction, from which `estimate` gives the
    clean latents of the step: x0 = x - sigma * v per token (sigma = its timestep / 1000; the picture's tokens are
    at 0), with the guidance the pipeline applies when it runs two branches."""

    def __init__(self, pipe: LTXConditionPipeline, num_frames: int, width: int, height: int):
        self.pipe = pipe
        spatial, temporal = pipe.vae_spatial_compression_ratio, pipe.vae_temporal_compression_ratio
        self.shape = ((num_frames - 1) // temporal + 1, height // spatial, width // spatial)
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
