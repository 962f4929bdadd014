"""Server profiles: mastodon-mock behind a small aiohttp shim that makes it answer like another server would.

Merkwacht must work on every server that speaks the Mastodon API, and they differ in ways that broke it before
(issue #12). mastodon-mock is one faithful Mastodon; this shim rewrites its answers per profile:

- `mastodon-4.5`: the instance says 4.5.0 with `timelines_access` public; otherwise the mock as it is.
- `mastodon-4.0`: the instance says 4.0.2; `GET /api/v1/statuses?id[]=` answers 404 (the route came in 4.3).
- `gotosocial`: ids are ULIDs (26 characters, mapped to and from the mock's numbers in paths, query parameters,
  bodies and `Link` headers); the bulk read answers 405; every status says `language: "en"` (GoToSocial's default
  when the client sends none); the instance and NodeInfo say GoToSocial 0.17.
- `takahe`: `/api/v1/instance/` (with Mastodon.py's trailing slash) and `/api/v2/instance` answer 404, only
  `/api/v1/instance` answers; the bulk read answers 405; NodeInfo says takahe 0.11.0.

`any[]` is ignored by the mock on every profile, as GoToSocial does. The shim forwards everything else untouched.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode

from aiohttp import ClientSession, web

PROFILES = ("mastodon-4.5", "mastodon-4.0", "gotosocial", "takahe")

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ULID_PREFIX = "01J"
_ID_PARAMS = ("max_id", "min_id", "since_id", "id[]")


def to_ulid(number: int) -> str:
    """A mock id as a 26-character ULID-shaped id (reversible; same order as the numbers)."""
    digits = ""
    while number:
        number, rest = divmod(number, 32)
        digits = _CROCKFORD[rest] + digits
    return _ULID_PREFIX + digits.rjust(23, "0")


def from_ulid(text: str) -> str:
    """The mock id behind a shim ULID; anything else unchanged."""
    if len(text) != 26 or not text.startswith(_ULID_PREFIX):
        return text
    number = 0
    for ch in text[len(_ULID_PREFIX) :]:
        number = number * 32 + _CROCKFORD.index(ch)
    return str(number)


def _instance(data: dict[str, Any], profile: str) -> dict[str, Any]:
    config = data.setdefault("configuration", {})
    if profile == "mastodon-4.5":
        data["version"] = "4.5.0"
        public = {"local": "public", "remote": "public"}
        config["timelines_access"] = {"live_feeds": public, "hashtag_feeds": public, "trending_link_feeds": public}
    elif profile == "mastodon-4.0":
        data["version"] = "4.0.2"
    elif profile == "gotosocial":
        data["version"] = "0.17.0 git-2f0e1a4"
        data["source_url"] = "https://github.com/superseriousbusiness/gotosocial"
    elif profile == "takahe":
        data["version"] = "takahe/0.11.0"
    return data


def _nodeinfo(data: dict[str, Any], profile: str) -> dict[str, Any]:
    names = {"mastodon-4.5": ("mastodon", "4.5.0"), "mastodon-4.0": ("mastodon", "4.0.2"),
             "gotosocial": ("gotosocial", "0.17.0 git-2f0e1a4"), "takahe": ("takahe", "0.11.0")}
    name, version = names[profile]
    data["software"] = {"name": name, "version": version}
    return data


def _rewrite_statuses(value: Any, profile: str) -> Any:
    if isinstance(value, list):
        return [_rewrite_statuses(v, profile) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: _rewrite_statuses(v, profile) for k, v in value.items()}
    if "content" in out and "uri" in out and profile == "gotosocial":
        out["id"] = to_ulid(int(out["id"]))
        if out.get("in_reply_to_id"):
            out["in_reply_to_id"] = to_ulid(int(out["in_reply_to_id"]))
        out["language"] = "en"
    return out


class ProfileShim:
    """An aiohttp server on 127.0.0.1 in its own thread, answering as `profile` with the mock behind it."""

    def __init__(self, target: str, profile: str) -> None:
        if profile not in PROFILES:
            raise ValueError(f"unknown server profile {profile!r}; known: {', '.join(PROFILES)}")
        self.target = target.rstrip("/")
        self.profile = profile
        self.url = ""
        self.anonymous = False
        """When set, the server answers 404 to every description (instance, NodeInfo): only answers can tell."""
        self.paths: list[str] = []
        """Every path asked, in order (to check which endpoints a profile was asked)."""
        self.agents: set[str] = set()
        """Every User-Agent seen."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None

    def _refuse(self, path: str, method: str, query: dict[str, str]) -> int | None:
        bulk = method == "GET" and path == "/api/v1/statuses"
        if bulk and self.profile == "mastodon-4.0":
            return 404
        if bulk and self.profile in ("gotosocial", "takahe"):
            return 405
        if self.anonymous and (path.startswith(("/api/v1/instance", "/api/v2/instance", "/nodeinfo"))
                               or path == "/.well-known/nodeinfo"):
            return 404
        if self.profile == "takahe" and path in ("/api/v1/instance/", "/api/v2/instance", "/api/v2/instance/"):
            return 404
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.paths.append(path)
        self.agents.add(request.headers.get("User-Agent", ""))
        refused = self._refuse(path, request.method, dict(request.query))
        if refused is not None:
            return web.json_response({"error": "Not found" if refused == 404 else "Method not allowed"}, status=refused)
        query = list(parse_qsl(request.query_string, keep_blank_values=True))
        if self.profile == "gotosocial":
            query = [(k, from_ulid(v) if k in _ID_PARAMS else v) for k, v in query]
            path = "/".join(from_ulid(part) for part in path.split("/"))
        url = f"{self.target}{path}" + (f"?{urlencode(query)}" if query else "")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        body = await request.read()
        assert self._session is not None
        async with self._session.request(request.method, url, headers=headers, data=body or None) as upstream:
            raw = await upstream.read()
            out_headers = {k: v for k, v in upstream.headers.items()
                           if k.lower() not in ("content-length", "transfer-encoding", "content-encoding",
                                                "connection")}
            status = upstream.status
        link = out_headers.get("Link")
        if link:
            link = link.replace(self.target, self.url)
            if self.profile == "gotosocial":
                link = re.sub(r"(max_id|min_id|since_id)=(\d+)", lambda m: f"{m[1]}={to_ulid(int(m[2]))}", link)
            out_headers["Link"] = link
        if "json" in out_headers.get("Content-Type", "") and raw:
            data = json.loads(raw)
            if request.path.rstrip("/") == "/api/v2/instance" or request.path.rstrip("/") == "/api/v1/instance":
                data = _instance(data, self.profile)
            elif request.path.startswith("/nodeinfo/"):
                data = _nodeinfo(data, self.profile)
            elif request.path == "/.well-known/nodeinfo":
                data = json.loads(json.dumps(data).replace(self.target, self.url))
            else:
                data = _rewrite_statuses(data, self.profile)
            raw = json.dumps(data).encode()
        return web.Response(body=raw, status=status, headers=out_headers)

    async def _start(self) -> None:
        self._session = ClientSession()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    def __enter__(self) -> ProfileShim:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        return self

    def __exit__(self, *exc: Any) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


@contextmanager
def serving(target: str, profile: str) -> Iterator[ProfileShim]:
    """A running shim for `profile` in front of the mock at `target`."""
    with ProfileShim(target, profile) as shim:
        yield shim
