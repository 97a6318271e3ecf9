"""What a saved image holds, read from the archive that `podman save` / `docker save` writes: every layer's bytes
searched for secrets, and each layer's size once gzipped, as a registry stores it."""

from __future__ import annotations

import gzip
import json
import os
import tarfile
import zlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

CHUNK = 16 * 1024 * 1024
GZIP_FRAME = 18
"""A gzip file's header and trailer around the deflated bytes."""


@dataclass
class LayerScan:
    member: str
    size: int
    gzipped: int
    found: list[str]
    """The names of the needles that occur in the layer's bytes."""


@dataclass
class SavedImage:
    layers: list[str]
    """The archive's layer files, bottom first, as its manifest lists them."""
    diff_ids: list[str]
    """Each layer's digest uncompressed, in the same order: the ids an engine lists for an image's layers."""
    texts: dict[str, bytes]
    """The manifest and the image configuration (environment, history, labels), by member name."""

    @classmethod
    def read(cls, archive: Path) -> SavedImage:
        with tarfile.open(archive) as saved:
            manifest = json.load(saved.extractfile("manifest.json"))[0]
            texts = {name: saved.extractfile(name).read() for name in ("manifest.json", manifest["Config"])}
        diff_ids = json.loads(texts[manifest["Config"]])["rootfs"]["diff_ids"]
        return cls(manifest["Layers"], diff_ids, texts)


def scan_layers(archive: Path, layers: list[str], needles: dict[str, bytes]) -> list[LayerScan]:
    """Read every layer once: look for each needle anywhere in its uncompressed bytes (file names and contents
    alike), and gzip it at the level registries' clients use."""
    with tarfile.open(archive) as saved, ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        return [_scan(saved, member, needles, pool) for member in layers]


def _scan(saved: tarfile.TarFile, member: str, needles: dict[str, bytes], pool: ThreadPoolExecutor) -> LayerScan:
    """Chunks are deflated in parallel, each on its own as pigz does (zlib works outside the GIL): the total is
    within a fraction of a percent of one gzip stream's."""
    longest = max((len(needle) for needle in needles.values()), default=1)
    size, gzipped, found, tail = 0, GZIP_FRAME, set(), b""
    pending: deque[Future] = deque()
    with _layer_stream(saved, member) as layer:
        while chunk := layer.read(CHUNK):
            size += len(chunk)
            pending.append(pool.submit(_deflated_size, chunk))
            if len(pending) > 4:  # a few chunks in memory at a time
                gzipped += pending.popleft().result()
            window = tail + chunk
            found.update(name for name, needle in needles.items() if needle in window)
            tail = window[-(longest - 1) :] if longest > 1 else b""
    gzipped += sum(future.result() for future in pending)
    return LayerScan(member, size, gzipped, sorted(found))


def _deflated_size(chunk: bytes) -> int:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)  # gzip's deflate at its default level, as `docker push`
    return len(compressor.compress(chunk)) + len(compressor.flush())


def _layer_stream(saved: tarfile.TarFile, member: str):
    """A layer's uncompressed tar, whether the engine saved it plain or gzipped."""
    stream = saved.extractfile(member)
    gzipped = stream.read(2) == b"\x1f\x8b"
    stream.seek(0)
    return gzip.GzipFile(fileobj=stream) if gzipped else stream


def largest_paths(du_lines: list[str], count: int = 10) -> list[tuple[int, str]]:
    """The `count` largest files and folders in `du -ak` output, none inside another. A folder among them is
    replaced by its entries while one entry holds over a quarter of it, so that a path names what takes the room
    (a library, a package) rather than a folder that merely holds it."""
    sizes: dict[str, int] = {}
    children: dict[str, list[str]] = {}
    for line in du_lines:
        kilobytes, _, path = line.partition("\t")
        if path:
            sizes[path] = int(kilobytes) * 1024
            if path != "/":
                children.setdefault(path.rsplit("/", 1)[0] or "/", []).append(path)

    def worth_splitting(path: str) -> bool:
        entries = children.get(path, [])
        return bool(entries) and max(sizes[entry] for entry in entries) * 4 > sizes[path]

    shown = ["/"]
    while split := next((path for path in shown[:count] if worth_splitting(path)), None):
        shown.remove(split)
        shown.extend(children[split])
        shown.sort(key=lambda path: -sizes[path])
    return [(sizes[path], path) for path in shown[:count]]
