"""Slowing down password guessing: Gradio's login takes any number of tries. After a few failed logins from one
client address, that client must wait before the next try, twice as long after each further failure (up to a
cap); a successful login clears its count.

The address is the connection's (behind a reverse proxy, the proxy's: all its users then share one count).
"""

from __future__ import annotations

import json
import math
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

FREE_TRIES = 5
FIRST_WAIT_SECONDS = 1.0
MAX_WAIT_SECONDS = 300.0
FORGET_AFTER_SECONDS = 900.0


class LoginThrottle:
    """ASGI middleware in front of Gradio's `POST /login`."""

    def __init__(self, app: ASGIApp, free_tries: int = FREE_TRIES):
        self.app = app
        self.free_tries = free_tries
        self.failures: dict[str, tuple[int, float]] = {}
        """Client address -> (failed logins in a row, time of the last one)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"].rstrip("/").split("/")[-1] != "login":
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        wait = self.wait_left(client, time.monotonic())
        if wait > 0:
            await _refuse(send, math.ceil(wait))
            return

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                self._record(client, message["status"])
            await send(message)

        await self.app(scope, receive, watch)

    def wait_left(self, client: str, now: float) -> float:
        count, last = self.failures.get(client, (0, 0.0))
        if count < self.free_tries:
            return 0.0
        wait = min(FIRST_WAIT_SECONDS * 2 ** (count - self.free_tries), MAX_WAIT_SECONDS)
        return max(0.0, last + wait - now)

    def _record(self, client: str, status: int) -> None:
        now = time.monotonic()
        if status < 400:
            self.failures.pop(client, None)
            return
        if status not in (400, 401, 403):
            return
        self.failures = {key: entry for key, entry in self.failures.items() if now - entry[1] < FORGET_AFTER_SECONDS}
        count, _ = self.failures.get(client, (0, now))
        self.failures[client] = (count + 1, now)


async def _refuse(send: Send, seconds: int) -> None:
    body = json.dumps({"detail": f"Too many failed logins: wait {seconds} s before trying again."}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(seconds).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
