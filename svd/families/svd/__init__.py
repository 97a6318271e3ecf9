"""Stable Video Diffusion: loading and placing the pipeline, its run (with its stage timers), the camera stage's
start from a guide (SVD's noise schedule), Turbo's distilled UNet and consistency sampler, and the tiny random-weight
model built from the architecture configs in `configs/`."""
