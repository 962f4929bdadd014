"""Brand matching: what a person reading the post would call a mention, and nothing else."""

from __future__ import annotations

import string
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import BrandConfig
from bot.ingest.matching import BrandMatcher, fold, split_camel
from bot.model import Author, Post

ACME = BrandConfig(
    name="Acme",
    terms=["Acme", "Acme Coffee"],
    hashtags=["acme", "acmecoffee"],
    handles=["@acme@mastodon.social"],
    exclude=["Acme Corporation"],
)


def brands_in(text: str, *brands: BrandConfig) -> set[str]:
    return {m.brand for m in BrandMatcher(brands or (ACME,)).match_text(text)}


def test_case_and_accents_do_not_matter() -> None:
    assert brands_in("ACME koffie") == {"Acme"}
    assert brands_in("Ácmé is lekker") == {"Acme"}
    assert brands_in("Crème Brûlée", BrandConfig(name="CB", terms=["creme brulee"])) == {"CB"}


def test_a_term_inside_a_longer_word_is_not_a_mention() -> None:
    assert brands_in("Acmeville en Tacmet") == set()
    assert brands_in("acme_fan") == set()


def test_punctuation_and_line_breaks_are_boundaries() -> None:
    assert brands_in("(Acme), 'Acme' en Acme!") == {"Acme"}
    assert brands_in("Acme\nCoffee") == {"Acme"}
    assert {m.matched for m in BrandMatcher([ACME]).match_text("acme\n  coffee")} == {"Acme", "Acme Coffee"}


def test_an_excluded_phrase_hides_only_the_matches_inside_it() -> None:
    assert brands_in("De Acme Corporation film") == set()
    assert brands_in("Acme Corporation, en daarna Acme koffie") == {"Acme"}


def test_terms_with_symbols_match_next_to_letters_where_the_symbol_is() -> None:
    cpp = BrandConfig(name="C++", terms=["C++"])
    assert brands_in("Ik leer C++ sinds gisteren", cpp) == {"C++"}
    assert brands_in("ABC++ is iets anders", cpp) == set()


def post_with(text: str, *, tags: tuple[str, ...] = (), mentions: tuple[str, ...] = ()) -> Post:
    return Post(
        uri="u", source="mastodon", origin="https://x", remote_id="1", url="u", author=Author("a@x"),
        created_at=datetime.now(UTC), text=text, tags=tags, mentions=mentions,
    )


def test_hashtags_and_handles_match_too() -> None:
    post = post_with("Goedemorgen", tags=("acmecoffee",), mentions=("acme@mastodon.social",))

    assert {(m.kind, m.matched) for m in BrandMatcher([ACME]).match(post)} == {
        ("hashtag", "acmecoffee"),
        ("handle", "acme@mastodon.social"),
    }


def test_a_handle_written_in_the_text_counts() -> None:
    matcher = BrandMatcher([BrandConfig(name="Shop", handles=["@shop@social.example"])])

    post = post_with("Vraag aan @Shop@social.example: waar blijft mijn pakket?")

    assert [m.kind for m in matcher.match(post)] == ["handle"]


def test_thousands_of_terms_are_matched_in_one_pass() -> None:
    brands = [BrandConfig(name=f"Brand {i}", terms=[f"merk{i}", f"product {i}"]) for i in range(2000)]
    matcher = BrandMatcher(brands)

    found = {m.brand for m in matcher.match_text("Ik vergeleek merk17 met product 1999 en merk2000")}

    assert found == {"Brand 17", "Brand 1999"}


words = st.text(alphabet=string.ascii_letters, min_size=3, max_size=12)
separators = st.sampled_from([" ", ", ", ". ", "! ", "\n", " (", ") ", " - ", "? "])
filler = st.lists(st.text(alphabet=string.ascii_lowercase + " .,!?\n", max_size=20), max_size=4).map(" ".join)


@given(term=words, before=filler, after=filler, sep1=separators, sep2=separators)
@settings(max_examples=300)
def test_property_a_term_between_separators_is_always_found(
    term: str, before: str, after: str, sep1: str, sep2: str
) -> None:
    brand = BrandConfig(name="B", terms=[term])
    assert brands_in(f"{before}{sep1}{term.upper()}{sep2}{after}", brand) == {"B"}


@given(
    term=words,
    prefix=st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=5),
    suffix=st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=5),
)
@settings(max_examples=300)
def test_property_a_term_glued_to_other_letters_is_never_found(term: str, prefix: str, suffix: str) -> None:
    brand = BrandConfig(name="B", terms=[term])
    assert brands_in(f"{prefix}{term}", brand) == set()
    assert brands_in(f"{term}{suffix}", brand) == set()


@given(text=st.text(max_size=300))
@settings(max_examples=300)
def test_property_any_text_is_safe_to_match(text: str) -> None:
    matcher = BrandMatcher([ACME])
    for match in matcher.match_text(text):
        assert match.brand == "Acme"
        assert fold(match.matched) in " ".join(fold(text).split())


@given(term=words, inside=filler)
@settings(max_examples=200)
def test_property_a_match_only_inside_an_exclusion_is_never_a_mention(term: str, inside: str) -> None:
    brand = BrandConfig(name="B", terms=[term], exclude=[f"{term} Corporation"])
    assert brands_in(f"{inside} {term} Corporation {inside}", brand) == set() or term.lower() in inside.lower()


def _post_with(text: str, *, spoiler: str = "", tags: tuple[str, ...] = ()) -> Post:
    return Post(uri="u", source="mastodon", origin="o", remote_id="1", url="u", author=Author("a@b"),
                created_at=datetime(2026, 11, 30, tzinfo=UTC), text=text, spoiler_text=spoiler, tags=tags)


def test_a_brand_named_only_in_the_content_warning_is_a_mention() -> None:
    matcher = BrandMatcher([BrandConfig(name="Acme", terms=["Acme"])])

    assert [m.brand for m in matcher.match(_post_with("de app crasht weer", spoiler="Acme klacht"))] == ["Acme"]
    assert matcher.match(_post_with("de app crasht weer", spoiler="klacht")) == ()


def test_a_camelcase_hashtag_matches_a_multi_word_term_and_its_exclusions_still_apply() -> None:
    matcher = BrandMatcher([
        BrandConfig(name="Bonenburg", terms=["Bonenburg Koffie"]),
        BrandConfig(name="Acme", terms=["Acme"], exclude=["Acme Corporation"]),
    ])

    def brands(text: str, tags: tuple[str, ...] = ()) -> list[str]:
        return sorted({m.brand for m in matcher.match(_post_with(text, tags=tags))})

    assert brands("Lekker bakkie #BonenburgKoffie") == ["Bonenburg"]
    assert brands("lekker", tags=("bonenburgkoffie",)) == ["Bonenburg"], "the lower-case tag from `tags` too"
    assert brands("Werken bij #AcmeCorporation") == [], "an excluded phrase stays excluded as a hashtag"
    assert brands("#Bonenburg #Koffie") == [], "two tags are not one term"
    assert brands("#BonenburgKoffieNL is top") == ["Bonenburg"]


@given(st.lists(st.sampled_from(["Bonen", "Burg", "Koffie", "NL", "App", "x", "12"]), min_size=1, max_size=5))
def test_splitting_a_camelcase_hashtag_keeps_every_letter_in_order(parts: list[str]) -> None:
    tag = "".join(parts)
    assert "".join(split_camel(tag)) == tag
