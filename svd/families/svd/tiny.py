"""Random-weight SVD models in the exact diffusers layout, built from the architecture configs in `configs/` beside
this module.

- `tiny`: for tests and offline demos. It keeps the real geometry (the same component classes, a VAE that
  downsamples x8, a CLIP image size of 224, the real scheduler) at a native size of 256x144, so a default
  generation takes seconds on a 2-core CPU.
- `svd-xt`: the full-size SVD-XT architecture, for benchmarks: time and memory do not depend on weight values.

Both produce noise, and their `svd_defaults.json` says so.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from diffusers import (
    AutoencoderKLTemporalDecoder,
    EulerDiscreteScheduler,
    StableVideoDiffusionPipeline,
    UNetSpatioTemporalConditionModel,
)
from safetensors.torch import save_file
from transformers import CLIPImageProcessorPil, CLIPVisionConfig, CLIPVisionModelWithProjection

from ...models.entries import DEFAULTS_FILE, ModelDefaults

CONFIGS = Path(__file__).parent / "configs"
ARCHITECTURES = ("tiny", "svd-xt")


def architecture_defaults(architecture: str) -> ModelDefaults:
    return ModelDefaults.from_dict(_read(architecture, DEFAULTS_FILE))


def build_random_pipeline(
    architecture: str, seed: int = 0, device: str | torch.device = "cpu"
) -> StableVideoDiffusionPipeline:
    """The pipeline with random weights, created directly on `device` (`meta` builds it without any memory)."""
    torch.manual_seed(seed)
    with torch.device(device):
        unet = UNetSpatioTemporalConditionModel.from_config(_read(architecture, "unet/config.json"))
        vae = AutoencoderKLTemporalDecoder.from_config(_read(architecture, "vae/config.json"))
        image_encoder = CLIPVisionModelWithProjection(
            CLIPVisionConfig.from_dict(_read(architecture, "image_encoder/config.json"))
        )
    pipe = StableVideoDiffusionPipeline(
        vae=vae,
        image_encoder=image_encoder,
        unet=unet,
        scheduler=EulerDiscreteScheduler.from_config(_read(architecture, "scheduler/scheduler_config.json")),
        feature_extractor=CLIPImageProcessorPil(**_read(architecture, "feature_extractor/preprocessor_config.json")),
    )
    return pipe.to(device)  # a few of the UNet's blending factors are made on the CPU whatever the default device


def save_random_model(
    architecture: str, folder: Path, variant: str | None = None, seed: int = 0, device: str | torch.device = "cpu"
) -> Path:
    """Write the model to `folder`; with `variant="fp16"` only fp16 weights, as `svd download` fetches them."""
    if variant not in (None, "fp16"):
        raise ValueError(f"variant must be fp16 or None, not {variant!r}")
    pipe = build_random_pipeline(architecture, seed, device)
    if variant == "fp16":
        pipe.to(torch.float16)
    folder.mkdir(parents=True, exist_ok=True)
    pipe.save_pretrained(folder, variant=variant, safe_serialization=True)
    _name_feature_extractor_like_the_real_models(folder)
    shutil.copy(CONFIGS / architecture / DEFAULTS_FILE, folder / DEFAULTS_FILE)
    return folder


def _read(architecture: str, name: str) -> dict:
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {', '.join(ARCHITECTURES)}, not {architecture!r}")
    return json.loads((CONFIGS / architecture / name).read_text())


def _name_feature_extractor_like_the_real_models(folder: Path) -> None:
    """The SVD repos name `CLIPImageProcessor` (transformers picks its backend at load time); the random models are
    built with the Pillow backend, which needs no torchvision, and are written under the same name."""
    index_file = folder / "model_index.json"
    index = json.loads(index_file.read_text())
    index["feature_extractor"] = ["transformers", "CLIPImageProcessor"]
    index_file.write_text(json.dumps(index, indent=2) + "\n")


def save_random_unet(architecture: str, path: Path, seed: int = 1, dtype: torch.dtype = torch.float16) -> Path:
    """A random UNet of the architecture in one safetensors file, as a distilled UNet (Turbo) is published: the
    tensors of `UNetSpatioTemporalConditionModel.state_dict()`, under diffusers' names."""
    torch.manual_seed(seed)
    unet = UNetSpatioTemporalConditionModel.from_config(_read(architecture, "unet/config.json"))
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({name: tensor.to(dtype).contiguous() for name, tensor in unet.state_dict().items()}, path)
    return path
