"""The server's edge: ASGI middleware that reads each API call before Gradio does. A call's body has a size limit;
a plain HTTP call of `/call/<endpoint>` that leaves out trailing values gets their defaults, as gradio_client gives
them; and a file object that names anything but a file the server received is refused in one line, before Gradio
answers it with an empty error or a path.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from svd.errors import InputError

from .uploads import in_upload_folder

MAX_CALL_BYTES = 1024**2
"""The largest body of an API call (its values, not its files, which are uploaded first)."""


class ApiEdge:
    def __init__(self, app: ASGIApp, defaults: dict[str, list]):
        self.app = app
        self.defaults = defaults
        """Each endpoint's inputs' defaults, by its name."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        called = _called(scope)
        if called is None:
            await self.app(scope, receive, send)
            return
        body = await read_body(receive, MAX_CALL_BYTES)
        if body is None:
            await answer(send, 413, f"the call is larger than {MAX_CALL_BYTES // 1024**2} MB: send its values only")
            return
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        try:
            _check_files(payload)  # in the values, in the names of /call/v2, in the event's data
        except InputError as error:
            await answer(send, 400, str(error))
            return
        data = payload.get("data") if isinstance(payload, dict) else None
        defaults = self.defaults.get(called, [])
        if isinstance(data, list) and len(data) < len(defaults):
            body = json.dumps({**payload, "data": [*data, *defaults[len(data) :]]}).encode()  # type: ignore[dict-item]
        await self.app(_with_length(scope, body), replaying(body, receive), send)


def _called(scope: Scope) -> str | None:
    """The endpoint a `POST .../call/<endpoint>` calls ("" for a queued call of any event, `.../queue/join`)."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    path = scope["path"]
    if "/call/" in path:
        return path.rpartition("/call/")[2]
    return "" if path.endswith("/queue/join") else None


def _check_files(value: object) -> None:
    """Every file object (a dict with a `path`) in a call's values must name a file the server received (not a
    file elsewhere on its disk, nor an address for it to fetch)."""
    if isinstance(value, dict):
        if "path" in value:
            in_upload_folder(value["path"])
        for item in value.values():
            _check_files(item)
    elif isinstance(value, list):
        for item in value:
            _check_files(item)


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The request's whole body, or None once it passes `limit` bytes."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if len(body) > limit:
            return None
        if not message.get("more_body"):
            return body


def replaying(body: bytes, receive: Receive) -> Callable:
    """A `receive` that gives the app `body` (already read), then what the client sends after."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _with_length(scope: Scope, body: bytes) -> Scope:
    headers = [(key, value) for key, value in scope["headers"] if key != b"content-length"]
    return {**scope, "headers": [*headers, (b"content-length", str(len(body)).encode())]}


async def answer(send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """A JSON answer `{"detail": ...}`, as Gradio gives its own errors."""
    body = json.dumps({"detail": detail}).encode()
    start = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *(headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": start})
    await send({"type": "http.response.body", "body": body})
