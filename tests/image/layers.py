"""What a saved image holds, read from the archive that `podman save` / `docker save` writes: every layer's bytes
searched for secrets, and each layer's size once gzipped, as a registry stores it."""

from __future__ import annotations

import io
import json
import os
import tarfile
import zlib
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO

CHUNK = 16 * 1024 * 1024
SMALL = 1024 * 1024
"""Members up to this size (the manifest, the configuration) are also kept whole."""
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
    layers: list[LayerScan]
    """Every layer, bottom first, as the archive's manifest lists them."""
    diff_ids: list[str]
    """Each layer's digest uncompressed, in the same order: the ids an engine lists for an image's layers."""
    texts: dict[str, bytes]
    """The manifest and the image configuration (environment, history, labels), by member name."""

    @classmethod
    def scan(cls, archive: IO[bytes], needles: dict[str, bytes]) -> SavedImage:
        """Read the archive once, in the order it is written (a pipe from `save`): every member is searched for
        each needle and gzipped to measure it; the manifest, which may come last, says which are the layers."""
        scans, small = {}, {}
        with tarfile.open(fileobj=archive, mode="r|") as saved, ThreadPoolExecutor(os.cpu_count() or 1) as pool:
            for member in saved:
                if not member.isfile():
                    continue
                stream = saved.extractfile(member)
                if member.size <= SMALL:
                    small[member.name] = stream.read()
                    stream = io.BytesIO(small[member.name])
                scans[member.name] = _scan(member.name, stream, needles, pool)
        manifest = json.loads(small["manifest.json"])[0]
        texts = {name: small[name] for name in ("manifest.json", manifest["Config"])}
        diff_ids = json.loads(texts[manifest["Config"]])["rootfs"]["diff_ids"]
        return cls([scans[name] for name in manifest["Layers"]], diff_ids, texts)


def _scan(member: str, stream: IO[bytes], needles: dict[str, bytes], pool: ThreadPoolExecutor) -> LayerScan:
    """Look for each needle anywhere in the member's uncompressed bytes (file names and contents alike) and
    deflate it in chunks in parallel, each on its own as pigz does (zlib works outside the GIL): the total is within
    a fraction of a percent of one gzip stream's, at the level registries' clients use."""
    longest = max((len(needle) for needle in needles.values()), default=1)
    size, gzipped, found, tail = 0, GZIP_FRAME, set(), b""
    pending: deque[Future] = deque()
    for chunk in _uncompressed(stream):
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


def _uncompressed(stream: IO[bytes]) -> Iterator[bytes]:
    """A member's bytes in chunks of at most CHUNK, inflated where the engine saved the layer gzipped."""
    chunk = stream.read(CHUNK)
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16) if chunk[:2] == b"\x1f\x8b" else None
    while chunk:
        if inflater is None:
            yield chunk
        else:
            while chunk and (data := inflater.decompress(chunk, CHUNK)):
                yield data
                chunk = inflater.unconsumed_tail
        chunk = stream.read(CHUNK)


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
