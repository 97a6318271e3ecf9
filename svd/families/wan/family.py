"""Wan 2.x image-to-video as a family (`svd.families.family`)."""

from __future__ import annotations

import torch
from diffusers import WanImageToVideoPipeline

from ..family import Family
from .animate import animate
from .catalogue import WAN_KIND
from .loading import adapt, place
from .loras import load_lora
from .preview import fit_latent_preview

WAN = Family(WAN_KIND, WanImageToVideoPipeline, torch.bfloat16, adapt, place, animate, fit_latent_preview, load_lora)
