"""What a Mastodon-API server is and what it can do: read once per start and once a day.

Servers that speak the Mastodon API differ in what they implement: `GET /api/v1/statuses?id[]=` (many statuses in
one request) exists since Mastodon 4.3 and not on GoToSocial or Takahē; Takahē answers 404 to `/api/v1/instance/`;
Mastodon 4.5 lets admins require a login for hashtag feeds or switch remote posts off there. The server's own
description (`/api/v2/instance`, else `/api/v1/instance`, else NodeInfo) decides the first guess; the first answer
to a feature corrects it (a 404/405 to a bulk read switches that instance to reading one status at a time) and the
correction is kept until the next daily read.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from bot.sources.base import SourceError
from bot.sources.mastodon.ratelimit import RequestBudget

log = logging.getLogger(__name__)

FeedAccess = Literal["public", "authenticated", "disabled"]
"""Mastodon 4.5's `configuration.timelines_access` values: anyone, logged-in users only, nobody."""

Software = str
"""Lower-case software name as NodeInfo spells it: `mastodon`, `gotosocial`, `takahe`, ... or `unknown`."""

REREAD_AFTER = 24 * 3600.0
"""Seconds after which an instance's description is read again (servers get upgraded)."""

RETRY_AFTER_ERROR = 3600.0
"""Seconds before a server that could not describe itself is asked again."""

_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")
_COMPATIBLE = re.compile(r"\(compatible;\s*([A-Za-z0-9_-]+)\s+([^)\s]+)\)")


def parse_version(text: str) -> tuple[int, int, int] | None:
    """The first `major.minor[.patch]` in a version string: `4.3.0+glitch` -> (4, 3, 0); None when there is none."""
    found = _VERSION.search(text or "")
    if found is None:
        return None
    return int(found.group(1)), int(found.group(2)), int(found.group(3) or 0)


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What Merkwacht may use on a server; `bulk_status_reads` may be corrected by the server's first answer."""

    bulk_status_reads: bool
    """`GET /api/v1/statuses?id[]=` (Mastodon 4.3+): 20 statuses per request instead of one."""
    streaming: bool
    """The server advertises a streaming API (Mastodon needs a user token for it since 4.2)."""
    streaming_needs_token: bool = False


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """One instance as it describes itself, and what was decided from that."""

    url: str
    software: Software = "unknown"
    version: str = ""
    """The software's own version (for GoToSocial and Takahē not the Mastodon API version they imitate)."""
    read_from: str = ""
    """Which endpoint(s) answered: `/api/v2/instance`, `/api/v1/instance`, `nodeinfo`; empty when none did."""
    hashtag_feeds: Mapping[str, FeedAccess] = field(default_factory=dict)
    """`local`/`remote` -> access, when the server says (Mastodon 4.5+); empty means public as before 4.5."""
    capabilities: Capabilities = field(default_factory=lambda: Capabilities(bulk_status_reads=True, streaming=False))
    detected: tuple[str, ...] = ()
    """Corrections learnt from answers since the description was read, e.g. `bulk reads answered 405`."""
    error: str | None = None
    """Why nothing could be read (the server is down, or answered none of the three)."""
    read_at: float = 0.0

    def feed_problem(self, has_token: bool) -> str | None:
        """A clear sentence when this server's hashtag feeds cannot be read as configured, else None."""
        problems = []
        for scope in ("local", "remote"):
            access = self.hashtag_feeds.get(scope)
            if access == "disabled":
                problems.append(f"{scope} posts are switched off in hashtag feeds on this server")
            elif access == "authenticated" and not has_token:
                problems.append(f"hashtag feeds of {scope} posts need a login here: set token_env for this instance")
        return "; ".join(problems) or None


def _software_from_instance(data: Mapping[str, Any]) -> tuple[Software, str]:
    version = str(data.get("version") or "")
    compatible = _COMPATIBLE.search(version)
    if compatible:
        # Pleroma, Akkoma and others: `2.7.2 (compatible; Pleroma 2.5.0)`.
        return compatible.group(1).casefold(), compatible.group(2)
    source = str(data.get("source_url") or "").casefold()
    for name in ("gotosocial", "takahe", "pleroma", "akkoma", "iceshrimp", "sharkey", "firefish"):
        if name in source or name in version.casefold():
            return name, version.split("/")[-1]
    parsed = parse_version(version)
    if "git" in version and parsed is not None and parsed[0] == 0:
        return "gotosocial", version  # GoToSocial's v1 version reads `0.17.0 git-abc123`.
    return "mastodon", version


def describe_capabilities(software: Software, version: str, data: Mapping[str, Any]) -> Capabilities:
    """The first guess from a description: bulk reads on Mastodon 4.3+ and on servers not known to lack them."""
    parsed = parse_version(version)
    if software == "mastodon":
        bulk = parsed is None or parsed >= (4, 3, 0)
        needs_token = parsed is None or parsed >= (4, 2, 0)
    else:
        # GoToSocial and Takahē answer 405; anything else is tried once, and its answer decides.
        bulk = software not in ("gotosocial", "takahe")
        needs_token = True
    config = data.get("configuration") if isinstance(data.get("configuration"), Mapping) else {}
    urls = (config or {}).get("urls") or data.get("urls") or {}
    streaming = bool(isinstance(urls, Mapping) and (urls.get("streaming") or urls.get("streaming_api")))
    return Capabilities(bulk_status_reads=bulk, streaming=streaming, streaming_needs_token=streaming and needs_token)


def _feeds(data: Mapping[str, Any]) -> dict[str, FeedAccess]:
    config = data.get("configuration")
    if not isinstance(config, Mapping):
        return {}
    feeds = (config.get("timelines_access") or {}).get("hashtag_feeds") or {}
    out: dict[str, FeedAccess] = {}
    for scope in ("local", "remote"):
        value = feeds.get(scope) if isinstance(feeds, Mapping) else None
        if value in ("public", "authenticated", "disabled"):
            out[scope] = value
    return out


Fetch = Callable[[str], "Mapping[str, Any] | None"]
"""GET a path of the instance (or an absolute URL) as JSON; None for a 404/405/410, raises for anything else."""


def read_server_info(url: str, fetch: Fetch, now: float | None = None) -> ServerInfo:
    """Ask the server what it is: `/api/v2/instance`, else `/api/v1/instance`, plus NodeInfo for the software."""
    now = time.time() if now is None else now
    read: list[str] = []
    data: Mapping[str, Any] = {}
    try:
        for path in ("/api/v2/instance", "/api/v1/instance"):
            answer = fetch(path)
            if isinstance(answer, Mapping):
                data = answer
                read.append(path)
                break
        software, version = _software_from_instance(data) if data else ("unknown", "")
        nodeinfo = _nodeinfo(fetch)
        if nodeinfo is not None:
            read.append("nodeinfo")
            sw = nodeinfo.get("software") or {}
            # NodeInfo names the software itself; the instance entity of other servers imitates Mastodon's.
            software = str(sw.get("name") or software).casefold()
            version = str(sw.get("version") or version)
    except Exception as exc:  # a description we cannot read is reported, never fatal
        return ServerInfo(url, error=f"{type(exc).__name__}: {exc}"[:300], read_at=now)
    if not read:
        return ServerInfo(url, error="answered none of /api/v2/instance, /api/v1/instance, NodeInfo", read_at=now)
    return ServerInfo(
        url,
        software=software,
        version=version,
        read_from=", ".join(read),
        hashtag_feeds=_feeds(data),
        capabilities=describe_capabilities(software, version, data),
        read_at=now,
    )


def _nodeinfo(fetch: Fetch) -> Mapping[str, Any] | None:
    index = fetch("/.well-known/nodeinfo")
    if not isinstance(index, Mapping):
        return None
    links = [link for link in index.get("links") or () if isinstance(link, Mapping) and link.get("href")]
    # The newest schema the server offers: 2.1 before 2.0.
    links.sort(key=lambda link: str(link.get("rel", "")), reverse=True)
    for link in links:
        doc = fetch(str(link["href"]))
        if isinstance(doc, Mapping):
            return doc
    return None


def requests_fetch(client: Any, budget: RequestBudget | None = None) -> Fetch:
    """A `Fetch` through a Mastodon.py client's own session, timeout and User-Agent, spent from `budget`."""

    def fetch(path: str) -> Mapping[str, Any] | None:
        base = str(client.api_base_url).rstrip("/")
        target = path if path.startswith(("http://", "https://")) else base + path
        headers = {"Accept": "application/json", "User-Agent": str(getattr(client, "user_agent", "") or "")}
        if budget is not None and budget.take():
            raise SourceError("deferred", f"request budget of {base} spent")
        try:
            response = client.session.get(target, headers=headers, timeout=client.request_timeout)
        finally:
            if budget is not None:
                budget.finished()
        if response.status_code in (404, 405, 410):
            return None
        response.raise_for_status()
        answer = response.json()
        return answer if isinstance(answer, Mapping) else None

    return fetch


class ServerRegistry:
    """Each instance's `ServerInfo`, read on first use and again once a day; corrections from answers kept."""

    def __init__(self, clock: Callable[[], float] = time.time, reread_after: float = REREAD_AFTER) -> None:
        self._clock = clock
        self._reread_after = reread_after
        self._infos: dict[str, ServerInfo] = {}
        self._lock = threading.Lock()

    def get(self, url: str) -> ServerInfo | None:
        """What is known about `url` now, without asking it."""
        with self._lock:
            return self._infos.get(url)

    def all(self) -> list[ServerInfo]:
        """Every instance described so far."""
        with self._lock:
            return list(self._infos.values())

    def ensure(self, url: str, fetch: Fetch) -> ServerInfo:
        """The description of `url`, read now if it was never read or is a day old (blocking: run in a thread).

        A server that cannot describe itself is asked again after `RETRY_AFTER_ERROR`; meanwhile what was known (and
        learnt from its answers) is kept.
        """
        known = self.get(url)
        now = self._clock()
        if known is not None:
            age = now - known.read_at
            if age < (self._reread_after if known.error is None else RETRY_AFTER_ERROR):
                return known
        info = read_server_info(url, fetch, now)
        if info.error is not None and known is not None:
            info = replace(known, read_at=now - self._reread_after + RETRY_AFTER_ERROR if known.error is None else now)
        elif info.error is None:
            log.info("%s runs %s %s (bulk status reads: %s)", url, info.software, info.version or "?",
                     "yes" if info.capabilities.bulk_status_reads else "no")
        with self._lock:
            self._infos[url] = info
        return info

    def learn_no_bulk_reads(self, url: str, status: int) -> ServerInfo:
        """The server answered `status` (404/405) to a bulk read: read one status at a time from now on."""
        with self._lock:
            info = self._infos.get(url) or ServerInfo(url, read_at=self._clock())
            caps = replace(info.capabilities, bulk_status_reads=False)
            note = f"bulk status reads answered {status}: reading one status at a time"
            info = replace(info, capabilities=caps, detected=(*info.detected, note))
            self._infos[url] = info
        log.info("%s: %s", url, note)
        return info


def describe(info: ServerInfo, has_token: bool = False) -> list[str]:
    """Lines for `merkwacht check` and `/status`: software, version, what was detected, feed access problems."""
    if info.error is not None:
        return [f"{info.url}: could not tell what it runs ({info.error})"]
    caps = info.capabilities
    streaming = "no"
    if caps.streaming:
        streaming = "yes, with a token" if caps.streaming_needs_token else "yes"
    lines = [
        f"{info.url}: {info.software} {info.version or '(version not given)'}; bulk status reads "
        f"{'yes' if caps.bulk_status_reads else 'no (one at a time)'}; streaming {streaming}; "
        f"read from {info.read_from}"
    ]
    lines += [f"  detected: {note}" for note in info.detected]
    problem = info.feed_problem(has_token)
    if problem:
        lines.append(f"  HASHTAG FEEDS: {problem}")
    return lines
