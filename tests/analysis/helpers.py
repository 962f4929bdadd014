"""What the analysis tests build posts from."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.model import Author, Post


def post(text: str, language: str | None = None) -> Post:
    """A Mastodon post with this text and declared language, and nothing else of note."""
    return Post(
        uri="https://example.social/1",
        source="mastodon",
        origin="https://example.social",
        remote_id="1",
        url="https://example.social/@a/1",
        author=Author("a@example.social"),
        created_at=datetime.now(UTC),
        text=text,
        language=language,
    )
