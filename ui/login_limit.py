"""Slowing down password guessing: Gradio's login takes any number of tries. Failed logins are counted per user name
and per client address: after a few for one name (or more from one address, whatever the names), the next try must
wait, twice as long after each further failure (up to a cap). A successful login clears its own user name's count
only, so logging in as one user never buys guesses at another's password.

The address is the connection's (behind a reverse proxy, the proxy's: all its users then share one count, which is
why an address gets more tries than a name).
"""

from __future__ import annotations

import math
import time
import urllib.parse

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .edge import answer, read_body, replaying

FREE_TRIES = 5
"""Failed logins for one user name before each further try must wait."""
FREE_TRIES_PER_ADDRESS = 20
"""Failed logins from one address, whatever the names, before each further try must wait."""
FIRST_WAIT_SECONDS = 1.0
MAX_WAIT_SECONDS = 300.0
FORGET_AFTER_SECONDS = 900.0
MAX_LOGIN_BYTES = 16 * 1024
MAX_NAME = 100
"""Longer user names are counted by their start (no login has such a name)."""


class LoginThrottle:
    """ASGI middleware in front of Gradio's `POST /login`."""

    def __init__(self, app: ASGIApp):
        self.app = app
        self.free = {"user": FREE_TRIES, "address": FREE_TRIES_PER_ADDRESS}
        self.failures: dict[tuple[str, str], tuple[int, float]] = {}
        """("user", name) or ("address", client address) -> (failed logins in a row, time of the last one)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"].rstrip("/").split("/")[-1] != "login":
            await self.app(scope, receive, send)
            return
        body = await read_body(receive, MAX_LOGIN_BYTES)
        if body is None:
            await answer(send, 413, "A login is a user name and a password: this is too large.")
            return
        keys = [("address", (scope.get("client") or ("unknown", 0))[0]), ("user", _user_name(body))]
        wait = max(self.wait_left(key, time.monotonic()) for key in keys)
        if wait > 0:
            seconds = math.ceil(wait)
            detail = f"Too many failed logins: wait {seconds} s before trying again."
            await answer(send, 429, detail, [(b"retry-after", str(seconds).encode())])
            return

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                self._record(keys, message["status"])
            await send(message)

        await self.app(scope, replaying(body, receive), watch)

    def wait_left(self, key: tuple[str, str], now: float) -> float:
        count, last = self.failures.get(key, (0, 0.0))
        free = self.free[key[0]]
        if count < free:
            return 0.0
        wait = min(FIRST_WAIT_SECONDS * 2 ** (count - free), MAX_WAIT_SECONDS)
        return max(0.0, last + wait - now)

    def _record(self, keys: list[tuple[str, str]], status: int) -> None:
        now = time.monotonic()
        if status < 400:
            self.failures.pop(keys[1], None)  # the user's own count; the address keeps its count
            return
        if status not in (400, 401, 403):
            return
        self.failures = {key: entry for key, entry in self.failures.items() if now - entry[1] < FORGET_AFTER_SECONDS}
        for key in keys:
            count, _ = self.failures.get(key, (0, now))
            self.failures[key] = (count + 1, now)


def _user_name(body: bytes) -> str:
    """The user name of a login form (Gradio's page sends it URL-encoded)."""
    fields = urllib.parse.parse_qs(body.decode("utf-8", errors="replace"), max_num_fields=10)
    return (fields.get("username") or [""])[0][:MAX_NAME]
