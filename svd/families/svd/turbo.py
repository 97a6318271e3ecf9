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
from ...models.download import ProgressReport, cached_model_path, download_model
from ...models.entries import DistilledUNet
from .consistency import ConsistencySVDScheduler


def fetch_distilled_unet(unet: DistilledUNet, on_progress: ProgressReport | None = None) -> Path:
    """The distilled UNet's file from the Hugging Face cache, downloaded first if needed."""
    patterns = [unet.filename]
    folder = cached_model_path(unet.repo_id, patterns) or download_model(unet.repo_id, on_progress, patterns)
    path = folder / unet.filename
    if not path.is_file():
        raise ModelError(
            f"{unet.repo_id} has no file {unet.filename}", "check the catalogue entry in svd/families/svd/catalogue.py"
        )
    return path


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
