"""SVD studio: Stable Video Diffusion from any picture, with every setting exposed, from a WebUI or the CLI."""

import os

# Before diffusers and transformers are imported: their advisory warnings are noise for our users, who get our own
# one-line messages instead. A user's own setting of these variables wins.
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")

__version__ = "0.1.0"
