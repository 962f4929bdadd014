"""Multilingual word vectors, folded into per-word class scores: what carries an opinion word across languages.

At training time (`bot.analysis.train`, see `build`) every word of a fixed vocabulary (the training texts' words and
the 20,000 most common words of each of seven languages) gets a vector from a multilingual sentence encoder, Google's
Universal Sentence Encoder Multilingual v3, run once per word. Its space is shared across languages ("terrible",
"schrecklich" and "verschrikkelijk" lie close), so what 47,000 English tweets teach about a direction in it reaches a
Spanish or Dutch word that no labelled Spanish or Dutch text contained. The model reads a post as the mean of its
words' vectors, a linear part; so each word's vector times those weights is folded into its class scores when the
model is saved, and at run time a post costs a lookup and a mean of a few rows of eight numbers: no vector and no
encoder is shipped or run. Words are found by CRC-32 (`features.vector_words`) in a sorted key array.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


class WordScores:
    """Per-word class scores, by the CRC-32 of the word: the folded word-vector part of the model."""

    def __init__(self, keys: npt.NDArray[np.uint32], scores: npt.NDArray[np.float32]) -> None:
        if keys.ndim != 1 or scores.ndim != 2 or len(keys) != len(scores):
            raise ValueError(f"word keys {keys.shape} and scores {scores.shape} do not match: rebuild the model")
        if len(keys) > 1 and not bool(np.all(keys[1:] > keys[:-1])):
            raise ValueError("word keys must be sorted and unique: rebuild the model")
        self.keys = np.ascontiguousarray(keys, dtype=np.uint32)
        self.scores = np.ascontiguousarray(scores, dtype=np.float32)

    @classmethod
    def empty(cls, width: int) -> WordScores:
        """No words: a model trained without word vectors."""
        return cls(np.zeros(0, dtype=np.uint32), np.zeros((0, width), dtype=np.float32))

    def __len__(self) -> int:
        return len(self.keys)

    def has(self, key: int) -> bool:
        """Whether the word with this CRC-32 has scores."""
        i = int(np.searchsorted(self.keys, key))
        return i < len(self.keys) and int(self.keys[i]) == key

    def rows(self, words: npt.NDArray[np.uint32]) -> npt.NDArray[np.int64]:
        """Rows of the words that have a vector, in order (repeats kept: a repeated word weighs more)."""
        if not len(self.keys) or not len(words):
            return np.zeros(0, dtype=np.int64)
        pos = np.searchsorted(self.keys, words)
        pos[pos == len(self.keys)] = 0
        found: npt.NDArray[np.int64] = pos[self.keys[pos] == words].astype(np.int64)
        return found

    def mean(self, words: npt.NDArray[np.uint32]) -> npt.NDArray[np.float32] | None:
        """The mean class scores of a post's words that have a vector, or None when none has."""
        rows = self.rows(words)
        if not len(rows):
            return None
        out: npt.NDArray[np.float32] = self.scores[rows].mean(axis=0)
        return out
