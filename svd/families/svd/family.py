"""Stable Video Diffusion as a family (`svd.families.family`)."""

from __future__ import annotations

import torch
from diffusers import StableVideoDiffusionPipeline

from ..family import Family
from .animate import animate
from .catalogue import SVD_KIND
from .loading import adapt, place
from .preview import fit_latent_preview

SVD = Family(SVD_KIND, StableVideoDiffusionPipeline, torch.float16, adapt, place, animate, fit_latent_preview)
