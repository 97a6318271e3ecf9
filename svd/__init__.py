"""SVD studio: Stable Video Diffusion from any picture, with every setting exposed, from a WebUI or the CLI."""

__version__ = "0.1.0"
