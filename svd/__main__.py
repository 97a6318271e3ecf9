"""`python -m svd`: the command line."""

import os
import sys

# Set before diffusers and transformers are imported: their advisory warnings are noise in our users' terminals.
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")

from .cli import main

sys.exit(main())
