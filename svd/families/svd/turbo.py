"""Turbo models: a base SVD pipeline whose UNet takes consistency-distilled weights (AnimateLCM-SVD-xt) and whose
scheduler becomes the consistency sampler those weights were distilled for. Only the UNet's file comes from the
distilled model's repository; every other component is the base model's, from the same cache as the base model
itself, so nothing is stored twice."""

from __future__ import annotations

from pathlib import Path

from diffusers import StableVideoDiffusionPipeline
from safetensors import SafetensorError
from safetensors.torch import load_file

from ...errors import ModelError, first_line
from .consistency import ConsistencySVDScheduler


def use_distilled_unet(pipe: StableVideoDiffusionPipeline, path: Path) -> None:
    """Load the distilled weights into the pipeline's UNet (every tensor must fit: it is the same architecture) and
    put the consistency sampler in place of the base model's."""
    try:
        state = load_file(path)
    except (OSError, SafetensorError) as error:
        raise ModelError(f"cannot read {path.name} ({first_line(error)})", "delete it from the cache, retry") from None
    try:
        pipe.unet.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise ModelError(
            f"{path.name} does not fit the base model's UNet ({first_line(error)})",
            "pair a distilled UNet with the model it was distilled from",
        ) from None
    pipe.scheduler = ConsistencySVDScheduler()
