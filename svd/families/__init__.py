"""Model families: one package per family of video models, with how it animates a picture, its samplers and its tiny
random-weight builder. Stable Video Diffusion is the first."""
