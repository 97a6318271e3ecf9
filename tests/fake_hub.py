"""A small stand-in for the Hugging Face Hub on 127.0.0.1, so huggingface_hub's real client runs without a network.

It answers the requests `snapshot_download` makes (repo info, file tree, file HEAD and GET) for folders it serves,
and answers gated or missing repositories the way the Hub does (status code plus `X-Error-Code`), so that
huggingface_hub raises its own exceptions.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class FakeHub:
    def __init__(self) -> None:
        self.repos: dict[str, Path] = {}
        self.gated: set[str] = set()
        self.tokens: dict[str, str] = {}
        """For a gated repository, the token of an account that accepted its licence (no other token may read it)."""
        self.delay = 0.0
        """Seconds to wait before serving each file, to make a download slow enough to watch."""
        self.requests: list[tuple[str, str, str | None]] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hub._answer(self, with_body=True)

            def do_HEAD(self) -> None:
                hub._answer(self, with_body=False)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeHub:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.shutdown()
        self.server.server_close()

    def serve(self, repo_id: str, folder: Path) -> None:
        self.repos[repo_id] = folder

    def _answer(self, handler: BaseHTTPRequestHandler, with_body: bool) -> None:
        path = unquote(urlparse(handler.path).path)
        self.requests.append((handler.command, path, handler.headers.get("Authorization")))
        parts = path.strip("/").split("/")
        if parts[:2] == ["api", "models"]:
            repo_id, rest = "/".join(parts[2:4]), parts[4:]
        else:
            repo_id, rest = "/".join(parts[0:2]), parts[2:]
        authorization = handler.headers.get("Authorization")
        if repo_id in self.gated and authorization != f"Bearer {self.tokens.get(repo_id)}":
            authorised = authorization is not None
            status, message = (403, "not in the authorized list") if authorised else (401, "must be authenticated")
            return self._error(handler, status, "GatedRepo", f"Access to model {repo_id} is restricted: {message}")
        if repo_id not in self.repos:
            return self._error(handler, 404, "RepoNotFound", "Repository not found")
        folder = self.repos[repo_id]
        files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
        if parts[:2] == ["api", "models"] and rest[:1] == ["revision"]:
            body = {"id": repo_id, "sha": COMMIT, "private": False, "siblings": [{"rfilename": f} for f in files]}
            return self._json(handler, body, with_body)
        if parts[:2] == ["api", "models"] and rest[:1] == ["tree"]:
            body = [
                {"type": "file", "path": f, "size": (folder / f).stat().st_size, "oid": _sha1(folder / f)}
                for f in files
            ]
            return self._json(handler, body, with_body)
        if rest[:1] == ["resolve"]:
            file = folder / "/".join(rest[2:])
            if not file.is_file():
                return self._error(handler, 404, "EntryNotFound", "Entry not found")
            data = file.read_bytes()
            if with_body:
                time.sleep(self.delay)
            handler.send_response(200)
            handler.send_header("Content-Length", str(len(data)))
            handler.send_header("ETag", f'"{_sha1(file)}"')
            handler.send_header("X-Repo-Commit", COMMIT)
            handler.end_headers()
            if with_body:
                handler.wfile.write(data)
            return None
        return self._error(handler, 404, "EntryNotFound", "Not found")

    @staticmethod
    def _json(handler: BaseHTTPRequestHandler, body, with_body: bool) -> None:
        data = json.dumps(body).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if with_body:
            handler.wfile.write(data)

    @staticmethod
    def _error(handler: BaseHTTPRequestHandler, status: int, code: str, message: str) -> None:
        data = json.dumps({"error": message}).encode()
        handler.send_response(status)
        handler.send_header("X-Error-Code", code)
        handler.send_header("X-Error-Message", message)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(data)


def _sha1(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()
