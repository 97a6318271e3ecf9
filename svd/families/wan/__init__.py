"""Wan 2.x image-to-video (Alibaba, Apache-2.0), through diffusers' WanImageToVideoPipeline."""
