"""First frames from text: a style preset fills the prompt, a text-to-image pipeline renders candidates at its own
resolution for the video's aspect, and each candidate is fitted to the video's size as an uploaded picture is.

Candidate i uses seed s + i, one at a time, so each equals the diffusers pipeline called directly with its seed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch
from diffusers import AutoPipelineForText2Image, DiffusionPipeline
from PIL import Image

from ..cancel import Cancel, stop_if_cancelled
from ..errors import InputError
from ..input.sizing import fit_image
from ..models.download import cached_model_path, download_model
from ..models.memory import FULL_MIN_BYTES, Profile, available_gpu_bytes
from ..models.pipeline import load_pipeline
from ..request import check_text
from .catalogue import TEXT_MODELS, TextModel, download_patterns, render_size, with_folder_defaults
from .styles import Style

MAX_CANDIDATES = 8


@dataclass(frozen=True)
class FirstFrames:
    pictures: list[Image.Image]
    """Each fitted to the video's size."""
    seeds: list[int]
    prompt: str
    """The prompt that reached the model: the style's template filled in."""
    negative_prompt: str
    model: str
    steps: int
    guidance: float
    notice: str | None = None
    """Said to the user, e.g. that the prompt was cut to what the text encoder takes."""


class FirstFrameMaker:
    """Holds one loaded text-to-image pipeline and makes first frames with it."""

    def __init__(self, device: torch.device):
        self.device = device
        self._pipe: DiffusionPipeline | None = None
        self._model: TextModel | None = None
        self._profile: Profile | None = None
        self._lock = threading.Lock()

    def load(self, model: TextModel, on_progress: Callable[[int, int], None] | None = None) -> TextModel:
        """Load `model` (downloading it into the Hub cache if needed) unless it is the loaded one; returns it as
        its files describe it (a Hub model outside the catalogue states its own defaults)."""
        if self._pipe is not None and self._model is not None and model.name == self._model.name:
            return self._model
        path = model.path or _fetch(model, on_progress)
        if model.name not in TEXT_MODELS:
            model = with_folder_defaults(model, path)
        dtype = model.cuda_dtype if self.device.type == "cuda" else torch.float32
        what, kind = f"the text-to-image model {model.name}", "diffusers text-to-image model"
        pipe = load_pipeline(AutoPipelineForText2Image, path, model.variant, dtype, what, kind)
        self._pipe, self._model, self._profile = pipe, model, None
        return model

    @property
    def pipeline(self) -> DiffusionPipeline | None:
        """The loaded text-to-image pipeline, if any."""
        return self._pipe

    def place(self, profile: Profile) -> None:
        """Put the pipeline where SVD's memory profile leaves room for it: kept on the GPU beside SVD only under
        `full` and when the GPU holds SVD's `full` budget plus these weights (an 80 GB card, not a 24 GB one);
        otherwise each part moves to the GPU only while it runs, so the two models take turns."""
        if self._pipe is None or self.device.type != "cuda":
            return
        room = FULL_MIN_BYTES + weight_bytes(self._pipe)
        placement: Profile = "full" if profile == "full" and available_gpu_bytes(self.device) >= room else "balanced"
        if placement == self._profile:
            return
        self._pipe.remove_all_hooks()
        if placement == "full":
            self._pipe.to(self.device)
        else:
            self._pipe.to("cpu")
            self._pipe.enable_model_cpu_offload(device=self.device)
        self._profile = placement

    def make(
        self,
        model: TextModel,
        prompt: str,
        style: Style,
        video_size: tuple[int, int],
        count: int,
        seed: int,
        negative_prompt: str = "",
        steps: int | None = None,
        guidance: float | None = None,
        cancel: Cancel | None = None,
    ) -> FirstFrames:
        """`count` first frames for `prompt` in `style`, fitted to `video_size`; a cancel stops them within a step."""
        if not check_text("the prompt", prompt).strip():
            raise InputError("the prompt is empty", "describe the picture to start the video from")
        check_text("the negative prompt", negative_prompt)
        if not 1 <= count <= MAX_CANDIDATES:
            raise InputError(f"{count} first frames is out of range", f"ask for 1 to {MAX_CANDIDATES}")
        text, negative = style.apply(prompt, negative_prompt)
        with self._lock:
            model = self.load(model)
            pipe = self._pipe
            assert pipe is not None
            steps = model.steps if steps is None else steps
            guidance = model.guidance if guidance is None else guidance
            width, height = render_size(video_size, model.pixels)
            notice = _cut_notice(pipe, text)
            pictures = []
            for index in range(count):
                rendered = pipe(
                    prompt=text,
                    negative_prompt=negative or None,
                    width=width,
                    height=height,
                    num_inference_steps=steps,
                    guidance_scale=guidance,
                    generator=torch.Generator("cpu").manual_seed(seed + index),
                    callback_on_step_end=partial(_stop_if_cancelled, cancel),
                ).images[0]
                pictures.append(fit_image(rendered, video_size))
        seeds = [seed + index for index in range(count)]
        return FirstFrames(pictures, seeds, text, negative, model.name, steps, guidance, notice)


def _stop_if_cancelled(cancel: Cancel | None, pipe, step: int, timestep, callback_kwargs: dict) -> dict:
    stop_if_cancelled(cancel, "the first frame was made")
    return callback_kwargs


def weight_bytes(pipe: DiffusionPipeline) -> int:
    """The bytes of the pipeline's weights, all components together."""
    modules = [part for part in pipe.components.values() if isinstance(part, torch.nn.Module)]
    return sum(tensor.numel() * tensor.element_size() for module in modules for tensor in module.parameters())


def _fetch(model: TextModel, on_progress: Callable[[int, int], None] | None) -> Path:
    assert model.repo_id is not None
    patterns = download_patterns(model)
    return cached_model_path(model.repo_id, allow_patterns=patterns) or download_model(
        model.repo_id, on_progress=on_progress, allow_patterns=patterns
    )


def _cut_notice(pipe: DiffusionPipeline, text: str) -> str | None:
    """Whether the text encoder will cut the prompt, said in a line: it takes `model_max_length` tokens."""
    tokenizer = getattr(pipe, "tokenizer", None)
    if tokenizer is None:
        return None
    tokens = len(tokenizer(text).input_ids)
    limit = tokenizer.model_max_length
    if tokens <= limit:
        return None
    return f"the prompt (with its style) is {tokens} tokens and the text encoder takes {limit}: the end was cut"
