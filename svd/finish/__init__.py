"""Finishing: what happens to the frames after the pipeline (extend, interpolate, upscale, loop) and the formats
they are written in. Each stage is its own module and passes its input through unchanged when it is off."""
