"""What the server reads of a caller's files: only files it received, in Gradio's upload folder (an upload, or a
picture the page showed, which Gradio copies there). A path to anywhere else gets one message, whatever is there, so
no caller can read or probe the server's disk. An upload that is not a usable picture is not kept: it is removed at
once (a few seconds later when the page is showing it), and asking for it again gets the reason it was refused."""

from __future__ import annotations

import functools
import logging
import threading
from collections import OrderedDict
from pathlib import Path

from gradio.utils import get_upload_folder

from svd.errors import InputError
from svd.input.image import InputImage, load_image

log = logging.getLogger("svd.webui")

NOT_RECEIVED = (
    "the picture must be a file uploaded to this server: with gradio_client pass handle_file('photo.jpg'); over "
    'HTTP, upload it first (POST /gradio_api/upload) and pass the path it returns as {"path": ..., "meta": '
    '{"_type": "gradio.FileData"}}'
)
MAX_PATH = 4096
REFUSALS_KEPT = 64

_refused: OrderedDict[Path, InputError] = OrderedDict()
"""Why the last uploads that were not usable pictures were refused (their files are gone)."""
SHOWN_FOR = 5.0
"""Seconds that an upload refused while the page shows it stays on disk: the browser fetches it to draw it as the page
sends it for checking, and a file removed while the server is sending it is an error in the log (the page then
empties the box, and fetches it no more)."""


_read_locks: OrderedDict[Path, threading.Lock] = OrderedDict()
_locks_guard = threading.Lock()
READ_LOCKS_KEPT = 256


def in_upload_folder(path: object) -> Path:
    """Where `path` points if that is inside Gradio's upload folder (links followed); `InputError(NOT_RECEIVED)`
    for any other path, whether or not something is there."""
    if isinstance(path, str) and 0 < len(path) <= MAX_PATH and "\0" not in path:
        try:
            resolved = Path(path).resolve()
        except (OSError, RuntimeError):
            resolved = None
        if resolved is not None and resolved.is_relative_to(Path(get_upload_folder()).resolve()):
            return resolved
    raise InputError(NOT_RECEIVED)


def uploaded_picture(payload: dict | None, linger: float = 0.0) -> InputImage | None:
    """The picture in an image input's raw payload (None when there is none). Events that read it skip Gradio's
    preprocessing (`preprocess=False`), so our validation sees the original bytes (EXIF, 16-bit, colour profile) and
    explains a bad file in one line instead of failing inside Gradio. A file that is not a usable picture is removed
    `linger` seconds later (`SHOWN_FOR` for the page's own checks)."""
    if not payload or not payload.get("path"):
        return None
    path = in_upload_folder(payload["path"])
    name = payload.get("orig_name")
    with _reading(path):
        if path in _refused:
            raise _refused[path]
        if not path.is_file():
            raise InputError("the picture is no longer on the server", "upload it again")
        try:
            return _load_upload(path, name if isinstance(name, str) and name else path.name)
        except InputError as error:
            _refuse(path, error, linger)
            raise


def _reading(path: Path) -> threading.Lock:
    """One read of an upload at a time: the preview and the upload's own check read a new file at once, and the
    second must find the first's picture or refusal, not a file the first just removed. Per file, so that one
    user's large picture never holds up another's; the locks of the latest uploads are kept."""
    with _locks_guard:
        lock = _read_locks.setdefault(path, threading.Lock())
        _read_locks.move_to_end(path)
        while len(_read_locks) > READ_LOCKS_KEPT:
            _read_locks.popitem(last=False)
        return lock


@functools.lru_cache(maxsize=8)
def _load_upload(path: Path, name: str) -> InputImage:
    """Uploads are read once: the preview runs on every size or fit change, then Generate uses the same picture
    (Gradio stores each upload under a folder named by its content hash, so a path always holds the same bytes)."""
    return load_image(path, name=name)


def _refuse(path: Path, error: InputError, linger: float) -> None:
    """Remember why `path` was refused, and remove it now or `linger` seconds from now."""
    _refused[path] = error
    while len(_refused) > REFUSALS_KEPT:
        _refused.popitem(last=False)
    if linger > 0:
        later = threading.Timer(linger, _remove, [path])
        later.daemon = True
        later.start()
    else:
        _remove(path)


def _remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as failure:
        log.warning(f"an upload that is not a picture could not be removed: {failure}")
