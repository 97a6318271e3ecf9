"""What the server reads of a caller's files: only files it received, in Gradio's upload folder (an upload, or a
picture the page showed, which Gradio copies there). A path to anywhere else gets one message, whatever is there, so
no caller can read or probe the server's disk. An upload that is not a usable picture is not kept: it is removed at
once, and asking for it again gets the reason it was refused."""

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
_reading = threading.Lock()
"""One upload read at a time: the preview and the upload's own check read a new file at once, and the second must
find the first's picture or refusal, not a file the first just removed."""


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


def uploaded_picture(payload: dict | None) -> InputImage | None:
    """The picture in an image input's raw payload (None when there is none). Events that read it skip Gradio's
    preprocessing (`preprocess=False`), so our validation sees the original bytes (EXIF, 16-bit, colour profile) and
    explains a bad file in one line instead of failing inside Gradio."""
    if not payload or not payload.get("path"):
        return None
    path = in_upload_folder(payload["path"])
    name = payload.get("orig_name")
    with _reading:
        if path in _refused:
            raise _refused[path]
        if not path.is_file():
            raise InputError("the picture is no longer on the server", "upload it again")
        return _load_upload(path, name if isinstance(name, str) and name else path.name)


@functools.lru_cache(maxsize=8)
def _load_upload(path: Path, name: str) -> InputImage:
    """Uploads are read once: the preview runs on every size or fit change, then Generate uses the same picture
    (Gradio stores each upload under a folder named by its content hash, so a path always holds the same bytes)."""
    try:
        return load_image(path, name=name)
    except InputError as error:
        _refused[path] = error
        while len(_refused) > REFUSALS_KEPT:
            _refused.popitem(last=False)
        try:
            path.unlink()
        except OSError as failure:
            log.warning(f"an upload that is not a picture could not be removed: {failure}")
        raise
