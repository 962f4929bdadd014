"""The edge where a post enters: every field cleaned and bounded so that any database can store it.

Whatever a server sends (lone surrogates, NUL, control characters, megabytes of text, 300-character hashtags,
counts beyond 32 bits, dates that overflow when moved to UTC) is made storable here, once, for every source. What
cannot be made storable without losing the post's identity (a `uri` or id longer than the columns hold) raises
`UnstorablePost`, which the sources turn into a skipped post with its reason, so the timeline's cursor moves on.

The bounds below are the contract with `storage/models.py`: a column is at least as long as its bound here.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime

from bot.model import Author, Engagement, Post

MAX_URI_BYTES = 2000
"""A post's `uri` is unique-indexed; PostgreSQL's B-tree refuses index rows over 2704 bytes."""
MAX_ID = 128
"""`post_sources.remote_id` and the cursor columns are `varchar(128)`."""
MAX_SHORT = 255
"""`varchar(255)` columns: author handle, hashtags, origins."""
MAX_LANGUAGE = 16
MAX_URL = 2048
MAX_NAME = 255
MAX_TEXT = 100_000
"""Far above any instance's post limit, low enough that one post cannot bloat the database or the analysis."""
MAX_SPOILER = 10_000
MAX_TAGS = 100
MAX_MENTIONS = 100
MAX_COUNT = 2**31 - 1
"""Counts are `integer` columns: 32 bits on PostgreSQL."""

# C0 controls but tab and newline, DEL, C1 controls: invisible, and NUL is refused by PostgreSQL text columns.
_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f"
_BAD_TEXT = re.compile(f"[{_CONTROLS}\ud800-\udfff]")
_BAD_LINE = re.compile(f"[{_CONTROLS}\t\n\ud800-\udfff]")
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{1,8})*")


class UnstorablePost(ValueError):
    """A post that cannot be stored without losing its identity; the message says which field and why."""


def _fix(match: re.Match[str]) -> str:
    char = match.group()
    # A lone surrogate was a character once: show that something was there. Controls carry nothing: drop them.
    if "\ud800" <= char <= "\udfff":
        return "\ufffd"
    return " " if char in "\t\n\r" else ""


def clean_text(value: object, limit: int = MAX_TEXT) -> str:
    """Text with line breaks kept: lone surrogates become U+FFFD, other control characters go; at most `limit`."""
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    text = text[: limit * 2]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _BAD_TEXT.search(text):
        text = _BAD_TEXT.sub(_fix, text)
    return text[:limit]


def clean_line(value: object, limit: int = MAX_SHORT) -> str:
    """One line of text (a name, an id, a URL): like `clean_text`, with line breaks and tabs made spaces."""
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    text = text[: limit * 2]
    if _BAD_LINE.search(text):
        text = _BAD_LINE.sub(_fix, text)
    return text.strip()[:limit]


def shown_id(value: object, limit: int = 60) -> str:
    """An id from a server as a log line may show it: repr() escapes control characters so a hostile id cannot forge
    log lines, and it is cut to `limit` characters so it cannot flood them either."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _count(value: int) -> int:
    return min(max(0, value), MAX_COUNT)


def _utc(value: datetime | None, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except (OverflowError, ValueError) as exc:
        raise UnstorablePost(f"{field} {value.isoformat()} cannot be expressed in UTC") from exc


def _identity(value: str, field: str, max_bytes: int) -> str:
    cleaned = clean_line(value, max_bytes)
    if len(cleaned.encode("utf-8")) > max_bytes or len(value) > max_bytes:
        raise UnstorablePost(f"{field} is {len(value)} characters long; at most {max_bytes} bytes can be stored")
    return cleaned


def _language(value: str | None) -> str | None:
    if not value:
        return None
    # A server declares the same few tags over and over: the short ones are remembered (a long one is never valid,
    # and remembering it would let a hostile server fill memory).
    return _short_language(value) if len(value) <= MAX_LANGUAGE else _parse_language(value)


def _parse_language(value: str) -> str | None:
    lang = clean_line(value, 64).lower().replace("_", "-")
    return lang if len(lang) <= MAX_LANGUAGE and _LANGUAGE.fullmatch(lang) else None


_short_language = functools.lru_cache(maxsize=1024)(_parse_language)


def _url(value: str, fallback: str = "") -> str:
    url = clean_line(value, MAX_URL + 1)
    # A cut URL leads somewhere else: better none (or the uri) than a wrong one.
    return fallback if len(url) > MAX_URL else url


def _tags(values: tuple[str, ...], limit: int) -> tuple[str, ...]:
    out: dict[str, None] = {}
    for value in values:
        # A tag longer than the column is no tag anyone can watch (watches are bounded alike): leave it out.
        tag = clean_line(value, MAX_SHORT + 1).casefold()
        if tag and len(tag) <= MAX_SHORT:
            out[tag] = None
        if len(out) >= limit:
            break
    return tuple(out)


def clean_post(post: Post) -> Post:
    """`post` with every field storable on SQLite and PostgreSQL; raises `UnstorablePost` if its identity is not."""
    uri = _identity(post.uri, "uri", MAX_URI_BYTES)
    if not uri:
        raise UnstorablePost("uri is empty")
    remote_id = _identity(post.remote_id, "id", MAX_ID)
    origin = _identity(post.origin, "origin", MAX_SHORT)
    created_at = _utc(post.created_at, "created_at")
    assert created_at is not None  # a Post always has one; _utc only passes None through
    author = post.author
    engagement = post.engagement
    # Built directly rather than with dataclasses.replace, which costs a third of the cleaning of a post.
    return Post(
        uri=uri,
        source=post.source,
        origin=origin,
        remote_id=remote_id,
        url=_url(post.url, uri if len(uri) <= MAX_URL else ""),
        author=Author(
            handle=clean_line(author.handle, MAX_SHORT),
            display_name=clean_line(author.display_name, MAX_NAME),
            url=_url(author.url),
            followers=_count(author.followers),
            bot=author.bot,
            opted_out=author.opted_out,
        ),
        created_at=created_at,
        text=clean_text(post.text, MAX_TEXT),
        language=_language(post.language),
        tags=_tags(post.tags, MAX_TAGS),
        mentions=_tags(post.mentions, MAX_MENTIONS),
        edited_at=_utc(post.edited_at, "edited_at"),
        engagement=Engagement(
            replies=_count(engagement.replies),
            boosts=_count(engagement.boosts),
            favourites=_count(engagement.favourites),
        ),
        sensitive=post.sensitive,
        spoiler_text=clean_text(post.spoiler_text, MAX_SPOILER),
        in_reply_to=(clean_line(post.in_reply_to, MAX_URL) or None) if post.in_reply_to is not None else None,
    )
