"""Words are found by their CRC-32 and averaged, whatever the keys and the words asked for."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.analysis import features
from bot.analysis.text import squeeze, tokenise
from bot.analysis.wordvectors import WordScores


def _key(word: str) -> int:
    return zlib.crc32(word.encode("utf-8", "surrogatepass"))


words_st = st.text(st.characters(codec="utf-8", categories=("Ll",)), min_size=1, max_size=8)


@given(vocabulary=st.lists(words_st, unique_by=_key, max_size=40), asked=st.lists(words_st, max_size=30))
def test_a_word_is_found_exactly_when_it_has_scores(vocabulary: list[str], asked: list[str]) -> None:
    vocabulary = sorted(vocabulary, key=_key)
    scores = np.arange(len(vocabulary) * 2, dtype=np.float32).reshape(len(vocabulary), 2)
    table = WordScores(np.array([_key(w) for w in vocabulary], dtype=np.uint32), scores)
    for word in asked + vocabulary:
        row = table.row_of(word)
        assert (row >= 0) == (word in vocabulary)
        if row >= 0:
            assert vocabulary[row] == word


@given(
    vocabulary=st.lists(st.text("abcdeéñ", min_size=1, max_size=6), unique_by=_key, min_size=1, max_size=20),
    data=st.data(),
)
def test_a_post_reads_as_the_mean_of_its_known_words(vocabulary: list[str], data: st.DataObject) -> None:
    vocabulary = sorted(vocabulary, key=_key)
    scores = np.random.default_rng(0).normal(size=(len(vocabulary), 3)).astype(np.float32)
    table = WordScores(np.array([_key(w) for w in vocabulary], dtype=np.uint32), scores)
    post = data.draw(st.lists(st.sampled_from(vocabulary), min_size=1, max_size=10))
    tokens = tokenise(" ".join(post))
    rows = features.vector_rows(tokens, table.row_of)
    # Every plain word is found; an elongated one ("aaa") by the first of its squeezed spellings that is known, if any.
    expected = []
    for t in tokens:
        known = [t.norm] if not t.elongated else [w for w in squeeze(t.norm) if w in vocabulary][:1]
        expected.extend(vocabulary.index(w) for w in known)
    assert rows == expected
    mean = table.mean(rows)
    assert (mean is None) == (not rows)
    if mean is not None:
        assert np.allclose(mean, scores[rows].mean(axis=0), atol=1e-6)


def test_keys_out_of_order_are_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="sorted and unique"):
        WordScores(np.array([5, 3], dtype=np.uint32), np.zeros((2, 8), dtype=np.float32))
    with pytest.raises(ValueError, match="do not match"):
        WordScores(np.array([3, 5], dtype=np.uint32), np.zeros((3, 8), dtype=np.float32))


def test_an_empty_table_knows_no_word() -> None:
    table = WordScores.empty(8)
    assert table.row_of("good") == -1
    assert table.mean(features.vector_rows(tokenise("good service"), table.row_of)) is None
