"""Components of a pipeline from one file in its authors' own layout (`OriginalCheckpoint`), through diffusers'
single-file loaders, with the configs of the base repository's folder; a failure is one line that names the file."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import torch
from diffusers import ModelMixin

from ..errors import ModelError, first_line
from .entries import OriginalCheckpoint


def load_components(
    checkpoint: OriginalCheckpoint, file: Path, folder: Path, dtype: torch.dtype
) -> dict[str, ModelMixin]:
    """Each of the checkpoint's components, as the class the folder's `model_index.json` names for it, converted
    from `file` by that class's `from_single_file` with the config of the folder's own component."""
    index = json.loads((folder / "model_index.json").read_text())
    components = {}
    for name in checkpoint.components:
        library, class_name = index[name]
        model_class = getattr(importlib.import_module(library), class_name)
        try:
            components[name] = model_class.from_single_file(
                str(file), config=str(folder), subfolder=name, torch_dtype=dtype, local_files_only=True
            )
        except (OSError, ValueError, RuntimeError, KeyError) as error:
            raise ModelError(
                f"cannot load the {name} of {checkpoint.filename} ({first_line(error)})",
                "download it again, or check that the file is the one the catalogue names",
            ) from None
        components[name].eval()
    return components
