"""Statuses as real servers send them, turned into clean posts."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.sources.mastodon.html import html_to_text
from bot.sources.mastodon.status import opted_out, status_to_post
from bot.sources.mastodon.timeline import page_from_statuses

CASSETTES = Path(__file__).parents[2].parent / "shared" / "fixtures" / "mastodon" / "cassettes"


def test_markup_goes_entities_are_decoded_and_link_text_stays() -> None:
    html = (
        '<p>Koffie &amp; thee bij <a href="https://acme.example/shop?a=1&amp;b=2" rel="nofollow">'
        '<span class="invisible">https://</span><span class="ellipsis">acme.example/sh</span>'
        '<span class="invisible">op?a=1&amp;b=2</span></a> '
        '<a href="https://x/tags/Koffie" class="mention hashtag">#<span>Koffie</span></a></p>'
        "<p>Tweede alinea<br>met een regel</p>"
    )
    assert (
        html_to_text(html)
        == "Koffie & thee bij https://acme.example/shop?a=1&b=2 #Koffie\n\nTweede alinea\nmet een regel"
    )


def test_scripts_and_styles_are_not_text() -> None:
    assert html_to_text("<p>Hoi<script>alert(1)</script><style>p{}</style></p>") == "Hoi"


def test_plain_text_passes_through() -> None:
    assert html_to_text("  gewoon tekst  ") == "gewoon tekst"
    assert html_to_text("") == ""


@given(st.text(max_size=500))
@settings(max_examples=300)
def test_property_any_html_becomes_text_without_tags(html: str) -> None:
    text = html_to_text(html)
    assert isinstance(text, str)
    assert "<p>" not in text and "<br>" not in text


def _cassette_bodies(name: str, path_part: str) -> list[Any]:
    if not CASSETTES.is_dir():
        pytest.skip(f"the shared fixtures are not at {CASSETTES}")
    data = yaml.safe_load((CASSETTES / name).read_text())
    bodies = []
    for interaction in data["interactions"]:
        if path_part in interaction["request"]["uri"] and interaction["response"]["status"]["code"] == 200:
            bodies.append(json.loads(interaction["response"]["body"]["string"]))
    return bodies


def test_a_real_hashtag_timeline_answer_is_read() -> None:
    [timeline, *_] = _cassette_bodies("test_hashtag_tl.yaml", "/timelines/tag/")

    page = page_from_statuses(timeline, "https://mastodon.example")

    assert page.raw_count == len(timeline) > 0
    post = page.posts[0]
    assert post.uri.startswith("http") and "hoot" in post.tags
    assert "<" not in post.text and "#hoot" in post.text.lower()
    assert post.created_at.tzinfo is not None
    assert page.newest_id == str(timeline[0]["id"])


def test_real_status_entities_with_media_polls_and_cards_are_read() -> None:
    statuses = [
        b for b in _cassette_bodies("test_entity_status.yaml", "/statuses") if isinstance(b, dict) and "uri" in b
    ]
    assert statuses
    for status in statuses:
        post = status_to_post(status, "https://mastodon.example")
        assert post.uri == (status.get("reblog") or status)["uri"]
        assert isinstance(post.created_at, datetime)


def test_opt_out_signals_are_read_from_the_account() -> None:
    assert opted_out({"noindex": True, "note": ""})
    assert opted_out({"note": '<p>Foto\'s. <a href="/tags/NoSearch">#<span>NoSearch</span></a></p>'})
    assert opted_out({"note": "no bots please #nobot"})
    assert not opted_out({"noindex": False, "note": "<p>I like #nobotany</p>"})


def test_an_account_that_turned_indexable_off_counts_as_opted_out_but_a_missing_field_does_not() -> None:
    assert opted_out({"indexable": False, "note": ""}), "Mastodon 4.2+: asked not to be indexed"
    assert not opted_out({"indexable": True, "note": ""})
    assert not opted_out({"note": ""}), "GoToSocial and Takahē do not send it: no refusal"


def test_a_local_handle_keeps_the_port_of_the_server_it_lives_on() -> None:
    from bot.sources.mastodon.status import account_handle

    on_port = {"acct": "brandfan", "url": "http://localhost:8702/@brandfan"}
    default_port = {"acct": "brandfan", "url": "https://social.example:443/@brandfan"}
    no_url = {"acct": "brandfan"}

    assert account_handle(on_port, "localhost:8702") == "brandfan@localhost:8702"
    assert account_handle(default_port, "social.example") == "brandfan@social.example"
    assert account_handle(no_url, "localhost:8702") == "brandfan@localhost:8702"
    assert account_handle({"acct": "x@elsewhere.example"}, "localhost:8702") == "x@elsewhere.example"
