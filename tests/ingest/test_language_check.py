"""A declared language the text clearly contradicts is replaced by the detected one, and the post says so."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.ingest.language_check import LanguageCheck
from bot.model import Author, Post, SourceKind

CHECK = LanguageCheck(["nl", "en", "de", "fr", "es"])


def _post(text: str, language: str | None) -> Post:
    return Post(uri="u", source=SourceKind.MASTODON, origin="o", remote_id="1", url="u", author=Author("a@b"),
                created_at=datetime(2026, 11, 30, tzinfo=UTC), text=text, language=language)


def test_a_dutch_complaint_declared_english_is_read_as_dutch() -> None:
    checked = CHECK(_post("Al drie dagen wacht ik op mijn pakket en niemand reageert", "en"))

    assert (checked.language, checked.language_source) == ("nl", "corrected")


def test_a_right_declaration_a_short_post_and_brand_names_are_left_alone() -> None:
    right = _post("Al drie dagen wacht ik op mijn pakket", "nl")
    assert CHECK(right) is right, "left as it is (storage records it as declared)"
    assert CHECK(_post("Top koffie!", "en")).language == "en", "too short to tell"
    assert CHECK(_post("koffiebar bruin opened a second spot in amersfoort", "en")).language == "en"


def test_a_language_outside_the_configured_ones_is_not_second_guessed() -> None:
    checked = CHECK(_post("Al drie dagen wacht ik op mijn pakket en niemand reageert", "it"))

    assert (checked.language, checked.language_source) == ("it", None)


def test_without_a_declaration_nothing_is_set_here_and_storage_calls_it_detected() -> None:
    assert CHECK(_post("Al drie dagen wacht ik op mijn pakket", None)).language_source is None
