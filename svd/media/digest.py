"""The SHA-256 of a file (a weights file, a LoRA), read in blocks and remembered while the file keeps its size and
modification time: the files are hundreds of MB, and a server hashes the same ones for request after request."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

_HASHES: dict[tuple[Path, int, int], str] = {}
_HASHES_LOCK = threading.Lock()


def file_sha256(path: Path) -> str:
    status = path.stat()
    key = (path.resolve(), status.st_size, status.st_mtime_ns)
    with _HASHES_LOCK:
        if key in _HASHES:
            return _HASHES[key]
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    with _HASHES_LOCK:
        _HASHES[key] = digest.hexdigest()
    return _HASHES[key]
