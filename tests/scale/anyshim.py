"""A loopback HTTP shim in front of mastodon-mock that answers `any[]` on tag timelines as Mastodon does.

mastodon-mock ignores `any[]` (it answers the path's tag alone, as GoToSocial does); real Mastodon, Pleroma and
Akkoma answer the posts carrying any of the tags. For a tag timeline with `any[]` this asks the mock for each tag's
page with the same `limit`, `min_id` and `max_id`, merges them (the mock's ids are integers, so the shim may order
them; the code under test never does) and keeps the `limit` right ones; every other request passes through.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests

PREFIX = "/api/v1/timelines/tag/"


class AnyShim:
    """Listens on 127.0.0.1 (`url`), forwards to `target`; `merged` counts the `any[]` requests it answered."""

    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.merged = 0
        shim = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                shim._get(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def _get(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        query = parse_qsl(parts.query)
        extra = [v for k, v in query if k == "any[]"]
        plain = [(k, v) for k, v in query if k != "any[]"]
        headers = {k: v for k, v in handler.headers.items() if k.lower() in ("authorization", "user-agent")}
        if not (parts.path.startswith(PREFIX) and extra):
            answer = requests.get(self.target + handler.path, headers=headers, timeout=10)
            self._reply(handler, answer.status_code, answer.content, answer.headers)
            return
        self.merged += 1
        tags = [parts.path[len(PREFIX):], *extra]
        query = urlencode(plain)
        pages = [requests.get(f"{self.target}{PREFIX}{t}?{query}", headers=headers, timeout=10) for t in tags]
        statuses = {s["id"]: s for page in pages for s in page.json()}
        ordered = sorted(statuses.values(), key=lambda s: int(s["id"]), reverse=True)
        limit = int(dict(plain).get("limit", "20"))
        # min_id answers the posts right after the cursor: the oldest `limit` of the merge, newest first.
        chosen = ordered[-limit:] if "min_id" in dict(plain) else ordered[:limit]
        self._reply(handler, 200, json.dumps(chosen).encode(), pages[0].headers)

    @staticmethod
    def _reply(handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: Any) -> None:
        handler.send_response(status)
        for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
            if name in headers:
                handler.send_header(name, headers[name])
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def start(self) -> None:
        """Serve in a daemon thread."""
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def any_shim(target: str) -> Iterator[AnyShim]:
    """An `AnyShim` in front of `target` for the duration of the block."""
    shim = AnyShim(target)
    shim.start()
    try:
        yield shim
    finally:
        shim.stop()
