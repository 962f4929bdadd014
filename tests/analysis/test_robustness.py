"""Any text at all goes in; an Analysis always comes out, quickly, with values in range."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.analysis import Analyser
from bot.analysis.cx import find_cues
from bot.analysis.text import clean, sentences, squeeze, tokenise

NASTY = [
    "",
    "\ud800 lone surrogate \udfff",
    "Z̷̢̛͓̲a̶̡͕̅l̸̰̓g̴̱͗o̵͇͑ is slecht",
    "\u202egnikrow ton si ti\u202c",
    "sl\u200becht\u200d\ufeff",
    "!!!???...",
    "😡" * 5000,
    "a" * 100_000,
    ("Ik wacht nog steeds op mijn pakket. " * 3000),
]


def test_nasty_inputs_give_valid_results(analyser: Analyser) -> None:
    for text in NASTY:
        result = analyser.analyse_text(text)
        assert result.sentiment in ("positive", "neutral", "negative")
        assert result.cx in ("complaint", "praise", "question", "suggestion", "other")
        assert -1.0 <= result.sentiment_score <= 1.0


def test_invisible_characters_do_not_hide_words(analyser: Analyser) -> None:
    assert analyser.analyse_text("Dit is sl\u200becht", "nl").sentiment == "negative"


def test_huge_posts_stay_cheap(analyser: Analyser) -> None:
    # Only the first few thousand characters are read, so 100 KB costs about what a long post costs.
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        analyser.analyse_text("Ik wacht nog steeds op mijn pakket. " * 3000)
        timings.append(time.perf_counter() - start)
    assert min(timings) < 0.05


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_text_is_analysed_without_raising(analyser: Analyser, text: str) -> None:
    result = analyser.analyse_text(text, None, brands=["Acme"])
    assert -1.0 <= result.sentiment_score <= 1.0
    assert result.language in (None, "nl", "en", "de", "fr", "es")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_tokens_are_lowercase_and_sentences_keep_every_token(text: str) -> None:
    tokens = tokenise(clean(text))
    assert all(t.norm == t.norm.casefold() for t in tokens if t.kind == "word")
    assert sum(len(s) for s in sentences(tokens)) == sum(1 for t in tokens if t.kind != "break")


@given(st.sampled_from("abcdefghijklmnopqrstuvwxyz"), st.integers(min_value=3, max_value=30))
def test_elongation_squeezes_back_to_the_single_letter(letter: str, repeat: int) -> None:
    variants = squeeze("<" + letter * repeat + ">")
    assert variants[-1] == f"<{letter}>"


@given(st.text(alphabet=st.characters(categories=("Ll", "Zs")), max_size=60))
def test_cue_matching_is_stable_under_surrounding_text(filler: str) -> None:
    words = " ".join(filler.split())
    assert find_cues(f"{words} nog steeds niet geleverd {words}".strip(), "nl").complaint_strong >= 1
    assert find_cues(f"{words} would be nice if {words}".strip(), "en").suggestion


def test_cues_need_whole_words() -> None:
    assert find_cues("unbrokenness is fine", "en").complaint_strong == 0
    assert find_cues("it arrived broken", "en").complaint_strong == 1
