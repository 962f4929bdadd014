"""The optional C scorer gives what the numpy code gives: the same character n-grams, the same scores, the same labels.

The analyser uses it wherever it was built (setup.py builds it when a C compiler is present); training always uses
the numpy code. If the two drifted apart, the shipped weights would be read with other features than they learned.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.analysis import features, lexicons
from bot.analysis.linear import LinearModel, _speedups
from bot.analysis.text import clean, tokenise

pytestmark = pytest.mark.skipif(
    _speedups is None, reason="the C scorer is not built here (no C compiler at install): the numpy code runs"
)

# Any code point, lone surrogates included (the numpy code reads them as their own values, so must the C code).
ANY_TEXT = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=()), max_size=300)
POST_TEXT = st.one_of(
    ANY_TEXT,
    st.lists(st.sampled_from(["not", "good", "Acme", "😡", "🙄", "still", "waiting", "?", "!!", "geweldig", "nooit",
                              "meer", "#fail", "@acme", "Oh great,", "thanks", "for", "nothing", "http://x.example",
                              "suuuper", "NIET", "bestelling"]), max_size=40).map(" ".join),
)


@pytest.fixture(scope="module")
def models() -> tuple[LinearModel, LinearModel]:
    return LinearModel.load(compiled=True), LinearModel.load(compiled=False)


@settings(max_examples=400, deadline=None)
@given(ANY_TEXT)
@example("\ud800 lone surrogate \udfff")
@example("💩🇳🇱 x")
def test_the_c_scorer_hashes_character_ngrams_exactly_as_numpy_does(text: str) -> None:
    assert _speedups is not None
    assert _speedups.char_buckets(text, features.HASHING) == features._char_buckets(text).tolist()


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(ANY_TEXT.filter(bool), st.sampled_from(["!", "?!", "...", "…", ";)", "@user", "#fail"]))),
       st.sampled_from([*features.LANGS, "xx"]))
@example(["\ud83d", "ok", "\U0001f600", "é", "\u0800", "!"], "nl")
def test_the_c_scorer_hashes_words_exactly_as_python_does(surfaces: list[str], lang: str) -> None:
    assert _speedups is not None
    got = _speedups.word_buckets(surfaces, features.language_salt(lang), features.HASHING)
    assert got == features.word_buckets(surfaces, lang)


@settings(max_examples=300, deadline=None)
@given(POST_TEXT, st.sampled_from(["en", "nl", "de", "fr", "es", None]))
def test_a_post_gets_the_same_scores_and_labels_from_either_scorer(
    models: tuple[LinearModel, LinearModel], text: str, language: str | None
) -> None:
    compiled, plain = models
    tokens = features.selected(tokenise(clean(text)), {"koffie"}, {"acme"})
    parts = features.parts(tokens, language, lexicons.load(language or "en"), "http" in text)
    words = features.vector_rows(tokens, compiled.words.row_of)
    assert _speedups is not None
    raw = _speedups.scores(compiled._rows, compiled.bias, features.HASHING, parts.text, parts.surfaces,
                           features.language_salt(parts.lang), features.dense_slots(parts.dense),
                           list(parts.dense.values()), words, features.DIM)
    # numpy sums in float32, the C scorer in double: the scores agree to float32 rounding.
    assert np.allclose(raw, plain.scores(*features.vector(parts), words), atol=1e-4)
    got, want = compiled.decide_parts(parts, words), plain.decide_parts(parts, words)
    assert (got[0], got[3]) == (want[0], want[3])
    assert np.allclose([got[1], got[2], got[4]], [want[1], want[2], want[4]], atol=1e-4)


def test_the_c_scorer_refuses_a_row_outside_the_model(models: tuple[LinearModel, LinearModel]) -> None:
    model = models[0]
    assert _speedups is not None
    with pytest.raises(IndexError, match="outside the model"):
        _speedups.scores(model._rows, model.bias, features.HASHING, " ok ", [], 0, [features.DIM + len(model.words)],
                         [1.0], [], features.DIM)
    with pytest.raises(IndexError, match="outside the model"):
        _speedups.scores(model._rows, model.bias, features.HASHING, " ok ", [], 0, [], [], [-1], 0)


def test_the_c_scorer_refuses_weights_of_another_type(models: tuple[LinearModel, LinearModel]) -> None:
    model = models[0]
    assert _speedups is not None
    with pytest.raises(TypeError, match="float32"):
        _speedups.scores(model._rows.astype(np.float64), model.bias, features.HASHING, " ok ", [], 0, [], [], [], 0)
    with pytest.raises(TypeError, match="one per index"):
        _speedups.scores(model._rows, model.bias, features.HASHING, " ok ", [], 0, [1, 2], [0.5], [], 0)
