"""Fetching model weights from the Hugging Face Hub into its cache, and explaining why it failed.

Only the files a load needs are fetched (`allow_patterns`): for SVD the fp16 variant (about 4.5 GB for SVD-XT instead
of 14 GB), for other models (depth) their own short list. The fetching is huggingface_hub's `snapshot_download`, which
honours `HF_TOKEN`, `HF_HOME`, `HF_ENDPOINT` and `HF_HUB_OFFLINE`.
"""

from __future__ import annotations

import logging
import shutil
import socket
from collections.abc import Callable, Sequence
from pathlib import Path

from huggingface_hub import constants, snapshot_download
from huggingface_hub.errors import (
    DryRunError,
    GatedRepoError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import tqdm as hf_tqdm

from ..errors import ModelError, first_line
from ..settings import Settings
from .entries import DEFAULTS_FILE, HubFile

logger = logging.getLogger("svd")

FP16_FILES = [
    "model_index.json",
    "*/config.json",
    "*/*.fp16.safetensors",
    "feature_extractor/preprocessor_config.json",
    "scheduler/scheduler_config.json",
    DEFAULTS_FILE,
]
"""The files of an SVD repository that an fp16 load needs; the fp32 weights and single-file checkpoints are skipped."""

DISK_MARGIN_BYTES = 512 * 1024**2

ProgressReport = Callable[[int, int], None]


def cached_model_path(
    repo_id: str, allow_patterns: Sequence[str] = FP16_FILES, revision: str | None = None
) -> Path | None:
    """The complete cached snapshot of `repo_id` (at `revision`, else its main branch), without touching the network:
    from the Hugging Face cache, or else from the read-only cache baked into the Docker image (`SVD_BAKED_CACHE`)."""
    baked = Settings.from_env().baked_cache
    for cache in (None, *([baked] if baked else [])):  # None: huggingface_hub's own cache (HF_HOME, HF_HUB_CACHE)
        try:
            return Path(
                snapshot_download(
                    repo_id,
                    allow_patterns=list(allow_patterns),
                    revision=revision,
                    local_files_only=True,
                    cache_dir=cache,
                )
            )
        except LocalEntryNotFoundError:
            continue
    return None


def download_model(
    repo_id: str,
    on_progress: ProgressReport | None = None,
    allow_patterns: Sequence[str] = FP16_FILES,
    revision: str | None = None,
) -> Path:
    """Download the files of `repo_id` that match `allow_patterns` (SVD's fp16 files unless told) into the Hub
    cache, after checking there is room for them.

    huggingface_hub draws its own progress bars on a terminal; `on_progress(done_bytes, total_bytes)` is also called
    as bytes arrive, for the WebUI's status line and for logs where no terminal shows the bars. `revision` pins a
    commit (the finishing models' single weight files are pinned so an upload there cannot change our output).
    """
    try:
        check_free_disk(Path(constants.HF_HUB_CACHE), _bytes_to_fetch(repo_id, allow_patterns, revision), repo_id)
        tqdm_class = _reporting_tqdm(on_progress) if on_progress else None
        patterns = list(allow_patterns)
        return Path(snapshot_download(repo_id, allow_patterns=patterns, revision=revision, tqdm_class=tqdm_class))
    except ModelError:
        raise
    except Exception as error:  # network and Hub failures of every kind end as one line for the user
        raise explain_hub_error(error, repo_id) from None


def fetch_hub_file(file: HubFile, on_progress: ProgressReport | None = None) -> Path:
    """One file a catalogue entry adds to its base model (a distilled UNet, a LoRA), from the Hugging Face cache or
    downloaded first."""
    patterns = [file.filename]
    folder = cached_model_path(file.repo_id, patterns) or download_model(file.repo_id, on_progress, patterns)
    path = folder / file.filename
    if not path.is_file():
        raise ModelError(f"{file.repo_id} has no file {file.filename}", "check the model's catalogue entry")
    return path


def download_reporter(name: str, tell: Callable[[str, float | None], None] | None = None) -> ProgressReport:
    """A download's progress callback: it logs every tenth of the way and tells `tell(text, fraction)` each time."""
    logged_tenths = 0

    def report(done: int, total: int) -> None:
        nonlocal logged_tenths
        fraction = min(done / total, 1.0) if total else None
        text = f"downloading {name}: {done / 1e9:.2f} of {total / 1e9:.2f} GB"
        if tell is not None:
            tell(text, fraction)
        if fraction is not None and int(fraction * 10) > logged_tenths:
            logged_tenths = int(fraction * 10)
            logger.info(f"{text} ({fraction:.0%})")

    return report


def download_size(repo_id: str, allow_patterns: Sequence[str] = FP16_FILES) -> int:
    """How many bytes `download_model(repo_id)` would fetch (0 when it is cached), asked from the Hub."""
    try:
        return _bytes_to_fetch(repo_id, allow_patterns)
    except Exception as error:
        raise explain_hub_error(error, repo_id) from None


def _bytes_to_fetch(repo_id: str, allow_patterns: Sequence[str], revision: str | None = None) -> int:
    planned = snapshot_download(repo_id, allow_patterns=list(allow_patterns), revision=revision, dry_run=True)
    return sum(item.file_size or 0 for item in planned if item.will_download)


def _reporting_tqdm(on_progress: ProgressReport) -> type[hf_tqdm]:
    """A tqdm class for `snapshot_download` that reports the byte count of the whole snapshot, also when the bar is
    hidden (huggingface_hub hides bars when there is no terminal, and a hidden tqdm stops counting)."""

    class ReportingTqdm(hf_tqdm):
        def __init__(self, *args, **kwargs):
            self.reports = kwargs.get("name") == "huggingface_hub.snapshot_download"
            self.done = kwargs.get("initial", 0) or 0
            super().__init__(*args, **kwargs)

        def update(self, n: float | None = 1):
            if self.reports and n:
                self.done += int(n)
                on_progress(self.done, int(self.total or 0))
            return super().update(n)

    return ReportingTqdm


def check_free_disk(folder: Path, needed_bytes: int, what: str) -> None:
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    free = shutil.disk_usage(existing).free
    if free < needed_bytes + DISK_MARGIN_BYTES:
        raise ModelError(
            f"not enough disk space for {what}: it needs {_gigabytes(needed_bytes)} in {folder} "
            f"but only {_gigabytes(free)} is free",
            "free some space or set HF_HOME to a larger disk",
        )


def explain_hub_error(error: Exception, repo_id: str) -> ModelError:
    """Why `repo_id` could not be fetched and what to do, from huggingface_hub's exception."""
    chain = _exception_chain(error)

    def found(kind) -> BaseException | None:
        return next((item for item in chain if isinstance(item, kind)), None)

    page = f"{constants.ENDPOINT}/{repo_id}"
    token_set = Settings.from_env().hf_token_set
    token_note = "the account of HF_TOKEN has no access" if token_set else "HF_TOKEN is not set"
    grant = (
        f"accept its licence at {page} with the account of HF_TOKEN, then retry"
        if token_set
        else f"accept its licence at {page} while logged in, then set HF_TOKEN to a read token of that account "
        "(in a cloud template: its environment variables) and restart"
    )
    http_error = found(HfHubHTTPError)
    status = http_error.response.status_code if http_error is not None and http_error.response is not None else None
    if found(GatedRepoError):
        return ModelError(f"{repo_id} is gated ({token_note})", grant)
    if found(RevisionNotFoundError):
        return ModelError(f"{repo_id} has no such revision on the Hub", "check the model name")
    if found(RepositoryNotFoundError):
        return ModelError(
            f"{repo_id} was not found on the Hub or needs a token ({token_note})",
            f"check the name; if it is gated, {grant}",
        )
    if status in (401, 403):
        return ModelError(f"the Hub refused access to {repo_id} ({token_note})", grant)
    if found((LocalEntryNotFoundError, OfflineModeIsEnabled, ConnectionError, TimeoutError, socket.gaierror)) or (
        isinstance(error, DryRunError) and http_error is None
    ):
        return ModelError(
            f"{repo_id} is not in the cache ({constants.HF_HUB_CACHE}) and the Hub at {constants.ENDPOINT} cannot "
            "be reached",
            "connect to the internet (and unset HF_HUB_OFFLINE), set HF_ENDPOINT to a mirror, "
            f"or run `python -m svd download {repo_id}` where there is a connection",
        )
    reason = first_line(http_error or error)
    return ModelError(f"could not download {repo_id} ({reason})", "check the connection and retry")


def _exception_chain(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _gigabytes(size: int) -> str:
    return f"{size / 1e9:.1f} GB"
