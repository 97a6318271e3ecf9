"""LTX-Video's two-pass path, as the 0.9.7 and 0.9.8 distilled models' cards run it (diffusers' LTX-Video
documentation; Lightricks' own configs call it multi-scale): the video made at about 2/3 of the asked size, its
latents doubled in size by Lightricks' spatial latent upsampler (`LTXLatentUpsamplePipeline`, with AdaIN towards
the first pass's statistics and, for 0.9.8 13B, tone mapping), a short second pass from those latents at that
larger size to restore texture, and its frames resized to the asked size.

The upsampler is published in Lightricks' own single-file layout, whose keys are diffusers' (diffusers' conversion
script renames none) and whose `config` metadata names its architecture.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from diffusers import LTXConditionPipeline, LTXLatentUpsamplePipeline
from diffusers.pipelines.ltx.modeling_latent_upsampler import LTXLatentUpsamplerModel
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file

from ...errors import ModelError, first_line
from .catalogue import LatentUpsampler


@dataclass
class TwoPass:
    """A loaded upsampler and the recipe of the entry that names it."""

    recipe: LatentUpsampler
    pipe: LTXLatentUpsamplePipeline

    def first_size(self, width: int, height: int, multiple: int) -> tuple[int, int]:
        """The first pass's size: the asked size scaled down and cut to the VAE's multiple, as the card does."""
        first_width, first_height = (
            max(multiple, int(side * self.recipe.downscale) // multiple * multiple) for side in (width, height)
        )
        return first_width, first_height

    def upsample(self, latents: torch.Tensor) -> torch.Tensor:
        return self.pipe(
            latents=latents,
            adain_factor=self.recipe.adain_factor,
            tone_map_compression_ratio=self.recipe.tone_map_compression_ratio,
            output_type="latent",
        ).frames


def load_two_pass(recipe: LatentUpsampler, file: Path, pipe: LTXConditionPipeline) -> TwoPass:
    """The upsampler in `file` beside the pipeline's VAE, in the pipeline's dtype."""
    try:
        with safe_open(str(file), framework="pt") as opened:
            config = json.loads((opened.metadata() or {})["config"])
        model = LTXLatentUpsamplerModel.from_config(config)
        model.load_state_dict(load_file(str(file)), strict=True)
    except (OSError, ValueError, RuntimeError, KeyError) as error:
        raise ModelError(
            f"cannot load the latent upsampler {recipe.filename} ({first_line(error)})",
            "download it again, or check that the file is the one the catalogue names",
        ) from None
    model = model.to(pipe.dtype).eval()
    upsample = LTXLatentUpsamplePipeline(vae=pipe.vae, latent_upsampler=model)
    upsample.set_progress_bar_config(disable=True)
    return TwoPass(recipe, upsample)


def resized(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    """uint8 frames (F, H, W, 3) at `width` x `height`, each resized as PIL resizes by default (bicubic), as the
    card's last step does."""
    if frames.shape[1:3] == (height, width):
        return frames
    return np.stack(
        [np.asarray(Image.fromarray(frame).resize((width, height), Image.Resampling.BICUBIC)) for frame in frames]
    )
