"""A Mastodon API Status (as Mastodon.py returns it, or as raw JSON) to a normalised `Post`."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from bot.model import Author, Engagement, Post, SourceKind
from bot.sources.clean import clean_post
from bot.sources.mastodon.html import html_to_text

_OPT_OUT_TAGS = re.compile(r"#(?:nobot|noindex|nosearch)\b", re.IGNORECASE)


def _when(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _count(value: Any) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


def host_of(url: str) -> str:
    """`host` or `host:port` of a URL (a server on `localhost:8702` is not the one on `localhost`); "" if none."""
    # Every status of a page asks for the host of the same instance URL.
    return _host_of(url) if len(url) <= 256 else _parse_host(url)


def _parse_host(url: str) -> str:
    parts = urlsplit(url)
    if not parts.hostname:
        return ""
    try:
        port = parts.port
    except ValueError:
        port = None
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.hostname if port is None or port == default else f"{parts.hostname}:{port}"


_host_of = functools.lru_cache(maxsize=1024)(_parse_host)


def account_handle(account: Mapping[str, Any], instance_host: str) -> str:
    """`user@domain` for any account: local accounts' `acct` has no domain, so the instance's (with its port) is
    added."""
    acct = str(account.get("acct") or account.get("username") or "").lstrip("@")
    if "@" not in acct:
        host = host_of(str(account.get("url") or "")) or instance_host
        acct = f"{acct}@{host}"
    return acct.casefold()


def opted_out(account: Mapping[str, Any]) -> bool:
    """Whether the account asked not to be indexed: `noindex`, `indexable: false`, or #nobot / #noindex / #nosearch
    in its bio (read from the bio's text, so a linked hashtag counts like a typed one).

    `indexable` (Mastodon 4.2+) is only believed when the server sends it: GoToSocial and Takahē leave it out, and a
    missing field is not a refusal.
    """
    if account.get("noindex") is True or account.get("indexable") is False:
        return True
    return bool(_OPT_OUT_TAGS.search(html_to_text(str(account.get("note") or ""))))


def status_to_post(status: Mapping[str, Any], instance_url: str) -> Post:
    """Normalise one status read from `instance_url`; a boost becomes the post it boosts.

    Raises ValueError (`UnstorablePost` among them) for a status that cannot become a storable post.
    """
    original = status.get("reblog") or status
    instance_host = host_of(instance_url) or instance_url
    account = original.get("account") or {}
    created = _when(original.get("created_at"))
    if created is None:
        raise ValueError(f"status {original.get('id')!r} from {instance_url} has no created_at")
    tags = tuple(dict.fromkeys(str(t.get("name", "")).casefold() for t in original.get("tags") or () if t.get("name")))
    mentions = tuple(
        dict.fromkeys(account_handle(m, instance_host) for m in original.get("mentions") or () if m.get("acct"))
    )
    uri = str(original.get("uri") or original.get("url") or "")
    if not uri:
        raise ValueError(f"status {original.get('id')!r} from {instance_url} has no uri")
    if original.get("id") in (None, ""):
        raise ValueError(f"status {uri!r} from {instance_url} has no id")
    return clean_post(Post(
        uri=uri,
        source=SourceKind.MASTODON,
        origin=instance_url,
        remote_id=str(original.get("id")),
        url=str(original.get("url") or uri),
        author=Author(
            handle=account_handle(account, instance_host),
            display_name=str(account.get("display_name") or ""),
            url=str(account.get("url") or ""),
            followers=_count(account.get("followers_count")),
            bot=bool(account.get("bot")),
            opted_out=opted_out(account),
        ),
        created_at=created,
        text=html_to_text(str(original.get("content") or "")),
        language=(str(original["language"]).lower() if original.get("language") else None),
        tags=tags,
        mentions=mentions,
        edited_at=_when(original.get("edited_at")),
        engagement=Engagement(
            replies=_count(original.get("replies_count")),
            boosts=_count(original.get("reblogs_count")),
            favourites=_count(original.get("favourites_count")),
        ),
        sensitive=bool(original.get("sensitive")),
        spoiler_text=str(original.get("spoiler_text") or ""),
        in_reply_to=str(original["in_reply_to_id"]) if original.get("in_reply_to_id") else None,
    ))
