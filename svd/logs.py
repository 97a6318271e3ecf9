"""What our processes print: our own progress and messages; not the libraries' loading bars and advice."""

from __future__ import annotations

import logging
import sys

import diffusers
import transformers


def setup_logging(level: int = logging.INFO) -> None:
    """Log `svd` messages from `level` up to stderr as `[svd] ...`; other libraries' only from WARNING up."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[svd] %(message)s"))
    logger = logging.getLogger("svd")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False
    diffusers.utils.logging.disable_progress_bar()
    transformers.utils.logging.disable_progress_bar()
