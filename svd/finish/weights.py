"""Single weight files for the finishing stages (frame interpolation, upscaling): a catalogue name resolves to a file
in a Hub repository pinned to a commit, fetched into the shared Hugging Face cache; anything else is a local file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..download import ProgressReport, cached_model_path, download_model
from ..errors import ModelError


@dataclass(frozen=True)
class WeightsFile:
    """A weights file on the Hugging Face Hub, pinned to a commit so that an upload there cannot change our output."""

    name: str
    repo_id: str
    revision: str
    filename: str
    title: str
    licence: str


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
    """The local path of `weights`: a local file as it is; a Hub file from the cache, downloaded first if needed."""
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
    return path
