"""Multilingual word vectors, folded into per-word class scores: what carries an opinion word across languages.

At training time (`bot.analysis.train`: `vector_vocabulary`, `encode_words`) every word of a fixed vocabulary (the
training texts' words and the 20,000 most common words of each of seven languages) gets a vector from a multilingual
sentence encoder, Google's Universal Sentence Encoder Multilingual v3, run once per word. Its space is shared across
languages ("terrible", "schrecklich" and "verschrikkelijk" lie close), so what 47,000 English tweets teach about a
direction in it reaches a Spanish or Dutch word that no labelled Spanish or Dutch text contained. The model reads a
post as the mean of its words' vectors, a linear part; so each word's vector times those weights is folded into its
class scores when the model is saved, and at run time a post costs a lookup and a mean of a few rows of eight
numbers: no vector and no encoder is shipped or run. Words are found by CRC-32 (`word_key`) in a sorted key array
(`WordScores.row_of`, remembered per word).
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

ROW_CACHE = 1 << 14
"""Words whose row lookup is remembered: posts repeat the same few thousand words, and a lookup (hash and binary
search) costs ~2 µs against ~0.1 µs for a remembered one."""


@functools.lru_cache(maxsize=1 << 16)
def word_key(word: str) -> int:
    """The CRC-32 of a word: its key in the word vectors, and the hash of the word features (`features.extract`)."""
    return zlib.crc32(word.encode("utf-8", "surrogatepass"))


class WordScores:
    """Per-word class scores, by the CRC-32 of the word: the folded word-vector part of the model."""

    def __init__(self, keys: npt.NDArray[np.uint32], scores: npt.NDArray[np.float32]) -> None:
        if keys.ndim != 1 or scores.ndim != 2 or len(keys) != len(scores):
            raise ValueError(f"word keys {keys.shape} and scores {scores.shape} do not match: rebuild the model")
        if len(keys) > 1 and not bool(np.all(keys[1:] > keys[:-1])):
            raise ValueError("word keys must be sorted and unique: rebuild the model")
        self.keys = np.ascontiguousarray(keys, dtype=np.uint32)
        self.scores = scores if scores.dtype == np.float32 else scores.astype(np.float32)
        # Per instance (not a module-level cache): a model's rows mean nothing to another model.
        self.row_of = functools.lru_cache(maxsize=ROW_CACHE)(self._row_of)

    @classmethod
    def empty(cls, width: int) -> WordScores:
        """No words: a model trained without word vectors."""
        return cls(np.zeros(0, dtype=np.uint32), np.zeros((0, width), dtype=np.float32))

    def __len__(self) -> int:
        return len(self.keys)

    def _row_of(self, word: str) -> int:
        """The row of a word's scores, or -1 when it has none."""
        key = word_key(word)
        i = int(np.searchsorted(self.keys, key))
        return i if i < len(self.keys) and int(self.keys[i]) == key else -1

    def mean(self, rows: Sequence[int]) -> npt.NDArray[np.float32] | None:
        """The mean class scores of a post's word rows (`features.vector_rows`), or None when it has none."""
        if not len(rows):
            return None
        out: npt.NDArray[np.float32] = self.scores[np.asarray(rows)].mean(axis=0)
        return out
