"""Real full and read-only disks for the tests: a small tmpfs mounted on a test folder (this needs root).

Without root these tests skip, saying why; the unwritable-folder cases that need no root (a path through a file,
and chmod 555 for a user other than root) run everywhere.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a small or read-only tmpfs needs root; these tests run as root in CI")


@contextmanager
def tmpfs(folder: Path, size_kb: int, read_only: bool = False) -> Iterator[Path]:
    """Mount a tmpfs of `size_kb` on `folder` (hiding what is there) for the block."""
    need_root()
    folder.mkdir(parents=True, exist_ok=True)
    options = f"size={size_kb}k" + (",ro" if read_only else "")
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def fill(folder: Path, leave_bytes: int = 0) -> Path:
    """Fill the disk under `folder` until at most `leave_bytes` are free; returns the filler file to delete."""
    filler = folder / "filler.bin"
    statvfs = os.statvfs(folder)
    free = statvfs.f_bavail * statvfs.f_frsize
    with filler.open("wb") as file:
        try:
            file.write(b"\0" * max(0, free - leave_bytes))
            file.flush()
            os.fsync(file.fileno())
        except OSError:
            pass  # full: that is the point
    return filler


@contextmanager
def read_only(folder: Path) -> Iterator[Path]:
    """A folder this process cannot write: a read-only tmpfs for root (whom chmod does not stop), else chmod 555."""
    if os.geteuid() == 0:
        with tmpfs(folder, size_kb=64, read_only=True):
            yield folder
        return
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o555)
    try:
        yield folder
    finally:
        folder.chmod(0o755)
