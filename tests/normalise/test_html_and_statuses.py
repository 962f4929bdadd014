"""Statuses as real servers send them, turned into clean posts."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.sources.mastodon.html import html_to_text, parsed_text, plain_markup_text, tidy
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


# Markup as Mastodon writes it, to hold the quick reader to the parser: text (with what Mastodon escapes, and
# whitespace, emoji and accents), links with hidden parts, mentions, hashtags, line breaks and paragraphs.
_TEXT = st.lists(
    st.sampled_from([*"ab Z9.,!?#@é☕😍\n\t ", "&amp;", "&lt;", "&gt;", "&quot;", "&#39;", "\xa0", "\x0b"]), max_size=12
).map("".join)
_ATTRS = st.lists(st.sampled_from([' href="https://x.example/a?b=1&amp;c=2"', ' class="invisible"', ' class=""',
                                   ' rel="nofollow noopener"', ' translate="no"', ' data-x="a>b"', " hidden"]),
                  max_size=3).map("".join)


@st.composite
def _inline(draw: st.DrawFn, depth: int = 0, in_link: bool = False) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["text", "br", "span", "a"] if depth < 3 else ["text", "br"]))
        if kind == "text":
            parts.append(draw(_TEXT))
        elif kind == "br":
            parts.append(draw(st.sampled_from(["<br>", "<br/>", "<br />"])))
        elif kind == "a" and not in_link:
            parts.append(f"<a{draw(_ATTRS)}>{draw(_inline(depth + 1, True))}</a>")
        else:
            parts.append(f"<span{draw(_ATTRS)}>{draw(_inline(depth + 1, in_link))}</span>")
    return "".join(parts)


_MASTODON_HTML = st.lists(st.builds(lambda a, b, c: f"<p{a}>{b}</p>{c}", _ATTRS, _inline(), _TEXT), max_size=4).map(
    "".join
)
def _splice(html: str, at: int, piece: str) -> str:
    # Between two tags or inside text, where a stray piece changes what the parser builds.
    places = [0, *(i + 1 for i, c in enumerate(html) if c == ">"), *(i for i, c in enumerate(html) if c == "<")]
    where = places[at % len(places)]
    return html[:where] + piece + html[where:]


# Near misses: the same markup with pieces the quick reader must leave to the parser spliced in.
_NEAR_MISS = st.builds(
    _splice,
    _MASTODON_HTML,
    st.integers(0, 10_000),
    st.sampled_from(["<", ">", "&", "&amp", "&nbsp;", "&#x27;", "\r", "\x00", "\ud800", "<p>", "</p>", "<a>", "</a>",
                     "<span>", "</span>", "</br>", "<div>", "<P>", "<b>x</b>", "<!-- c -->", "<a href='x'>", "<br/ >",
                     "<p class=x>", "<![CDATA[x]]>", "<script>1</script>", "<p/>", "<span/>", "<p>x</p>",
                     "<a href=\"y\">z</a>"]),
)


@given(_MASTODON_HTML)
@settings(max_examples=400, deadline=None)
def test_markup_as_mastodon_writes_it_is_read_without_the_parser_and_exactly_as_the_parser_reads_it(html: str) -> None:
    quick = plain_markup_text(html)
    assert quick is not None
    assert tidy(quick) == tidy(parsed_text(html))


@given(st.one_of(_NEAR_MISS, st.text(max_size=200)))
@settings(max_examples=600, deadline=None)
@example('<p>AB<p>x</p>CD</p>')  # a paragraph in a paragraph: the parser closes the first and adds an empty one
@example('<a href="q">1<a href="y">z</a>2</a>')
@example("<p>a\ud800b</p>")  # the parser drops a lone surrogate
def test_other_markup_is_left_to_the_parser_or_read_exactly_as_the_parser_reads_it(html: str) -> None:
    quick = plain_markup_text(html)
    assert quick is None or tidy(quick) == tidy(parsed_text(html))


def test_real_statuses_are_read_without_the_parser_and_exactly_as_the_parser_reads_them() -> None:
    contents = [status["content"] for body in _cassette_bodies("test_hashtag_tl.yaml", "/timelines/tag/")
                for status in body if status["content"]]
    contents += [body["content"] for body in _cassette_bodies("test_entity_status.yaml", "/statuses/")
                 if isinstance(body, dict) and body.get("content")]
    assert contents
    for html in contents:
        quick = plain_markup_text(html)
        assert quick is not None, html
        assert tidy(quick) == tidy(parsed_text(html)), html


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
