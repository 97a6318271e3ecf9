"""Single weight files for the finishing stages (frame interpolation, upscaling): a catalogue name resolves to a file
in a Hub repository pinned to a commit, fetched into the shared Hugging Face cache and checked against the SHA-256 of
the file its authors released; anything else is a local file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelError
from ..media.digest import file_sha256
from ..models.download import ProgressReport, cached_model_path, download_model


@dataclass(frozen=True)
class WeightsFile:
    """A weights file on the Hugging Face Hub. The commit pins where it is fetched from and the SHA-256 pins what is
    loaded, so neither an upload to the repository nor a wrong mirror can change our output."""

    name: str
    repo_id: str
    revision: str
    filename: str
    sha256: str
    title: str
    licence: str
    flops_per_pixel: float
    """What the network computes per pixel (an upscaler's input pixel, a new frame's pixel for RIFE), counted on the
    full-size network (bench/flops.py): the cost of a request."""


def resolve_weights(name: str, catalogue: dict[str, WeightsFile], what: str) -> WeightsFile | Path:
    """A catalogue entry by name, else a local file, which must exist."""
    if name in catalogue:
        return catalogue[name]
    path = Path(name).expanduser()
    if not path.is_file():
        known = ", ".join(catalogue)
        raise ModelError(f"the {what} weights file {name} does not exist", f"give one of {known} or a .pth file")
    return path


def fetch_weights(weights: WeightsFile | Path, on_progress: ProgressReport | None = None) -> Path:
    """The local path of `weights`: a local file as it is; a Hub file from the cache, downloaded first if needed,
    whose content must be the released file's."""
    if isinstance(weights, Path):
        return weights
    patterns = [weights.filename]
    folder = cached_model_path(weights.repo_id, patterns, weights.revision) or download_model(
        weights.repo_id, on_progress=on_progress, allow_patterns=patterns, revision=weights.revision
    )
    path = folder / weights.filename
    if not path.is_file():
        raise ModelError(
            f"{weights.repo_id} at {weights.revision[:7]} has no file {weights.filename}",
            "check the catalogue entry in svd/finish",
        )
    digest = file_sha256(path)
    if digest != weights.sha256:
        raise ModelError(
            f"{weights.filename} from {weights.repo_id} is not the released file (SHA-256 {digest[:12]}…, expected "
            f"{weights.sha256[:12]}…)",
            "delete it from the Hugging Face cache and retry, or give a local file",
        )
    return path
