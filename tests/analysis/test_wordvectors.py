"""Word scores are found by key and averaged, whatever the keys and the words asked for."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.analysis.wordvectors import WordScores

keys_st = st.lists(st.integers(0, 2**32 - 1), unique=True, max_size=50).map(sorted)


@given(keys=keys_st, asked=st.lists(st.integers(0, 2**32 - 1), max_size=30), data=st.data())
def test_mean_is_the_mean_of_the_known_words_scores(keys: list[int], asked: list[int], data: st.DataObject) -> None:
    # Some asked words are known, some are not; repeats count as often as they occur.
    asked = asked + data.draw(st.lists(st.sampled_from(keys), max_size=10)) if keys else asked
    scores = np.arange(len(keys) * 2, dtype=np.float32).reshape(len(keys), 2)
    table = WordScores(np.array(keys, dtype=np.uint32), scores)
    position = {k: i for i, k in enumerate(keys)}
    known = [position[a] for a in asked if a in position]
    mean = table.mean(np.array(asked, dtype=np.uint32))
    if not known:
        assert mean is None
    else:
        assert mean is not None
        assert np.allclose(mean, scores[known].mean(axis=0))


def test_keys_out_of_order_are_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="sorted and unique"):
        WordScores(np.array([5, 3], dtype=np.uint32), np.zeros((2, 8), dtype=np.float32))
    with pytest.raises(ValueError, match="do not match"):
        WordScores(np.array([3, 5], dtype=np.uint32), np.zeros((3, 8), dtype=np.float32))


def test_an_empty_table_knows_no_word() -> None:
    assert WordScores.empty(8).mean(np.array([1, 2, 3], dtype=np.uint32)) is None
