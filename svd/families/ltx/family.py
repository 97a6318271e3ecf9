"""LTX-Video as a family (`svd.families.family`)."""

from __future__ import annotations

import torch
from diffusers import LTXConditionPipeline

from ..family import Family
from .animate import animate
from .catalogue import LTX_KIND
from .loading import adapt, place
from .preview import fit_latent_preview

LTX = Family(LTX_KIND, LTXConditionPipeline, torch.bfloat16, adapt, place, animate, fit_latent_preview)
