"""Every environment variable the project reads, in one place.

Hugging Face's own variables (`HF_TOKEN`, `HF_HOME`, `HF_ENDPOINT`, `HF_HUB_OFFLINE`) are read by huggingface_hub
itself; they are listed here so that the documentation and the error messages have one source.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ENVIRONMENT: dict[str, str] = {
    "SVD_MODEL": "Model: a catalogue id (svd, svd-xt, svd-xt-1.1), a Hub id or a local folder. Default svd-xt.",
    "SVD_MEMORY": "Memory profile: auto, full, balanced or low. Default auto.",
    "SVD_DEVICE": "Device: auto, cuda or cpu. Default auto.",
    "SVD_OUTPUT_DIR": "Folder for videos, sidecars and history. Default ./outputs.",
    "HF_TOKEN": "Hugging Face token of an account that accepted the SVD licence (the models are gated).",
    "HF_HOME": "Hugging Face cache folder, where downloaded weights live. Default ~/.cache/huggingface.",
    "HF_ENDPOINT": "Hugging Face Hub address, for a mirror. Default https://huggingface.co.",
    "HF_HUB_OFFLINE": "Set to 1 to use only weights already in the cache.",
    "SVD_DEBUG": "Set to 1 to see the traceback of an unexpected failure instead of a one-line error.",
}


@dataclass(frozen=True)
class Settings:
    model: str = "svd-xt"
    memory: str = "auto"
    device: str = "auto"
    output_dir: Path = Path("outputs")
    hf_token_set: bool = False
    debug: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        return cls(
            model=environ.get("SVD_MODEL") or cls.model,
            memory=environ.get("SVD_MEMORY") or cls.memory,
            device=environ.get("SVD_DEVICE") or cls.device,
            output_dir=Path(environ.get("SVD_OUTPUT_DIR") or cls.output_dir),
            hf_token_set=bool(environ.get("HF_TOKEN")),
            debug=environ.get("SVD_DEBUG", "") not in ("", "0"),
        )
