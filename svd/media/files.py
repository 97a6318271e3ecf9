"""Writing outputs so that a reader never sees a half-written file: write under a temporary name, then rename.

The files of one save are renamed together, last of all (`PendingFiles`), and a failed or cancelled save removes
what it wrote. A full disk, a read-only folder or a path through a file becomes one `OutputError` that names the
output folder without its path (the log has the path), so nothing half-written is left under either name.

A process that writes holds a shared lock on the folder itself (flock on its directory); a server starting up takes
it exclusively, and only then removes what crashed runs left behind (`remove_leftovers`), so it never removes another
process's work.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import OutputError

logger = logging.getLogger("svd")

PARTIAL = ".partial"
"""Marks a temporary output (`.<name>.<random>.partial<suffix>`); one left by a crash is removed at start-up."""

MIN_FREE_BYTES = 64 * 1024**2
"""Free space an output folder keeps beyond what a job is expected to write."""

STEM = re.compile(r"^\d{8}-\d{6}-")
"""How the names of the WebUI's and the CLI's default outputs begin: the time they were made."""
GENERATION_SUFFIXES = re.compile(
    r"\.(mp4|webm|gif|webp)|_(model_)?frames(\.zip)?|_(input|first_frame)\.[a-z]+|_poster\.jpg|_guide\.mp4"
)
"""The endings of the files a generation's sidecar names (see `svd.output.store`)."""


class PendingFiles:
    """The files of one save, each written under a temporary name beside its final one: `commit` gives them their
    final names in the order they were asked for, `discard` (or leaving the block with an error) removes them. A
    commit that fails half-way removes the files it had already placed, so a save is all there or not at all."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._pairs: list[tuple[Path, Path]] = []
        self._lock: int | None = None

    def __enter__(self) -> PendingFiles:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._lock = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as error:
            raise output_error(error, self.folder) from None
        fcntl.flock(self._lock, fcntl.LOCK_SH)
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if error is not None:
            self.discard()
        if self._lock is not None:
            os.close(self._lock)  # releases the shared lock
            self._lock = None
        if isinstance(error, OSError):
            raise output_error(error, self.folder) from error

    def temporary(self, final: Path) -> Path:
        """Where to write the file that will be `final` (a file or a folder, with `final`'s suffix)."""
        temporary = final.with_name(f".{final.stem}.{uuid.uuid4().hex[:8]}{PARTIAL}{final.suffix}")
        self._pairs.append((temporary, final))
        return temporary

    def commit(self) -> None:
        placed: list[Path] = []
        try:
            for temporary, final in self._pairs:
                if temporary.is_dir() and final.is_dir():
                    shutil.rmtree(final)
                os.replace(temporary, final)
                placed.append(final)
        except OSError as error:
            for path in placed:
                _remove(path)
            self.discard()
            raise output_error(error, self.folder) from None
        self._pairs.clear()

    def discard(self) -> None:
        """Remove every temporary file (quietly: a folder that turned read-only must not hide the real error)."""
        for temporary, _ in self._pairs:
            _remove(temporary)
        self._pairs.clear()


@contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path beside `final` (same suffix); it replaces `final` only if the block succeeds."""
    with PendingFiles(final.parent) as pending:
        yield pending.temporary(final)
        pending.commit()


def check_output_folder(folder: Path, needed_bytes: int = 0, probe: bool = True) -> None:
    """Fail now, before any GPU work, if `folder` cannot take a new video: missing and not creatable, read-only,
    a file, or without room for `needed_bytes` plus `MIN_FREE_BYTES`. `probe` writes a file to be sure; without it
    the system is asked instead (cheap enough for a status shown every second)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if probe:
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-check.", suffix=PARTIAL):
                pass
        elif os.statvfs(folder).f_flag & os.ST_RDONLY:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        elif not os.access(folder, os.W_OK | os.X_OK):
            raise OSError(errno.EACCES, os.strerror(errno.EACCES))
    except OSError as error:
        raise output_error(error, folder) from None
    if shutil.disk_usage(folder).free < needed_bytes + MIN_FREE_BYTES:
        raise disk_full(needed_bytes)


def disk_full(needed_bytes: int = 0) -> OutputError:
    needed = (needed_bytes + MIN_FREE_BYTES) / 1024**2
    return OutputError("the disk is full", f"free space in the output folder (this needs about {needed:,.0f} MB)")


def output_error(error: OSError, folder: Path) -> OutputError:
    """The user's view of a failed write into `folder`, which names the folder without its path."""
    logger.warning(f"cannot write to {folder}: {error}")
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return disk_full()
    if error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return OutputError(
            f"the output folder cannot be written ({error.strerror})",
            "make it writable or set SVD_OUTPUT_DIR (the CLI: -o) to a writable folder",
        )
    if error.errno in (errno.ENOTDIR, errno.EEXIST):
        return OutputError("the output folder is not a folder (a file is in the way)", "choose another output folder")
    return OutputError(f"the output folder cannot be written ({error.strerror or error})", "check the output folder")


def remove_leftovers(folder: Path) -> list[Path] | None:
    """What crashed runs left in `folder`: temporary files of any age, and the files of a generation whose sidecar
    was never written (a crash between renames). Removed only while no other process writes there (None then)."""
    if not folder.is_dir():
        return []
    try:
        lock = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return []
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(lock)
        return None
    try:
        entries = list(folder.iterdir())
        sidecars = {path.name for path in entries if path.suffix == ".json"}
        leftovers = [path for path in entries if PARTIAL in path.name and path.name.startswith(".")]
        leftovers += [path for path in entries if _without_sidecar(path.name, sidecars)]
        return [path for path in leftovers if _remove(path)]
    finally:
        os.close(lock)


def _without_sidecar(name: str, sidecars: set[str]) -> bool:
    """A generation's file (by its name) whose sidecar is not among `sidecars`. A stem may itself end like a suffix
    (`x_input` gives `x_input_input.png`), so every way the name can split into stem and suffix is tried."""
    if not STEM.match(name) or name.endswith(".json"):
        return False
    stems = [name[:start] for start in range(len(name)) if GENERATION_SUFFIXES.fullmatch(name, start)]
    return bool(stems) and not any(f"{stem}.json" in sidecars for stem in stems)


def _remove(path: Path) -> bool:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    except FileNotFoundError:
        return False
    except OSError as error:
        logger.warning(f"could not remove {path}: {error}")
        return False
    return True
