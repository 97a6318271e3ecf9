"""Writing outputs so that a reader never sees a half-written file: write to a temporary name, then rename.

A full disk, a read-only folder or a path through a file becomes one `OutputError` that names the folder, and the
temporary file is removed, so nothing half-written is left under either name.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import OutputError

PARTIAL = ".partial"
"""Marks a temporary output (`.<name>.<random>.partial<suffix>`); one left by a crash is removed at start-up."""

MIN_FREE_BYTES = 64 * 1024**2
"""Free space an output folder needs before a generation starts: a 25-frame 1024x576 video with its PNG frames
takes about 30 MB."""


@contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path beside `final` (same suffix); it replaces `final` only if the block succeeds."""
    folder = final.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise output_error(error, folder) from None
    temporary = final.with_name(f".{final.stem}.{uuid.uuid4().hex[:8]}{PARTIAL}{final.suffix}")
    try:
        yield temporary
        if temporary.is_dir() and final.is_dir():
            shutil.rmtree(final)
        os.replace(temporary, final)
    except OSError as error:
        raise output_error(error, folder) from None
    finally:
        if temporary.is_dir():
            shutil.rmtree(temporary, ignore_errors=True)
        else:
            temporary.unlink(missing_ok=True)


def write_json(path: Path, data: dict) -> None:
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")


def check_output_folder(folder: Path, probe: bool = True) -> None:
    """Fail now, before any GPU work, if `folder` cannot take a new video: missing and not creatable, read-only,
    a file, or with less than `MIN_FREE_BYTES` free. `probe` writes a file to be sure; without it the system is
    asked instead (cheap enough for a status shown every second)."""
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
    if shutil.disk_usage(folder).free < MIN_FREE_BYTES:
        raise disk_full(folder)


def disk_full(folder: Path) -> OutputError:
    return OutputError("the disk is full", f"free space in {folder} (at least {MIN_FREE_BYTES // 1024**2} MB)")


def output_error(error: OSError, folder: Path) -> OutputError:
    """The user's view of a failed write into `folder`."""
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return disk_full(folder)
    if error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return OutputError(
            f"the output folder {folder} cannot be written ({error.strerror})",
            "make it writable or set SVD_OUTPUT_DIR (the CLI: -o) to a writable folder",
        )
    if error.errno in (errno.ENOTDIR, errno.EEXIST):
        return OutputError(
            f"the output folder {folder} is not a folder (a file is in the way)", "choose another output folder"
        )
    return OutputError(f"cannot write to {folder} ({error.strerror or error})", "check the output folder")


def remove_stale_partials(folder: Path, older_than_seconds: float = 600) -> list[Path]:
    """Remove temporary outputs that a crashed run left behind (not those a running one may still be writing)."""
    if not folder.is_dir():
        return []
    cutoff = time.time() - older_than_seconds
    removed = []
    for path in folder.glob(f".*{PARTIAL}*"):
        try:
            if path.lstat().st_mtime > cutoff:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except OSError:
            continue
        removed.append(path)
    return removed
