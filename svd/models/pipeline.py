"""Loading a diffusers pipeline from a folder, with a failure told in one line that names the model."""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import DiffusionPipeline, ModelMixin

from ..errors import ModelError, first_line


def load_pipeline(
    pipeline_class: type[DiffusionPipeline],
    path: Path,
    variant: str | None,
    dtype: torch.dtype,
    what: str,
    kind: str,
    components: dict[str, ModelMixin] | None = None,
) -> DiffusionPipeline:
    """`pipeline_class.from_pretrained(path)` with its progress bar off, with `components` already loaded in place of
    the folder's own; `what` names the model in an error, and `kind` says what a complete folder holds."""
    try:
        pipe = pipeline_class.from_pretrained(path, variant=variant, dtype=dtype, **(components or {}))
    except (OSError, ValueError, RuntimeError, KeyError) as error:
        raise ModelError(
            f"cannot load {what} ({first_line(error)})",
            f"download it again or check that the folder is a complete {kind}",
        ) from None
    pipe.set_progress_bar_config(disable=True)
    return pipe
