"""The shipped learned model: two multinomial logistic regressions (sentiment, CX type) over `features.extract`.

Stored as `data/model.npz` (weights as float16, one column per class, sentiment's three then CX's five; the folded
word-vector scores of `wordvectors`) and `data/model.json` (labels, operating points, how it was trained). Inference is
one gather and a sum in numpy, plus the mean of the post's words' scores.
`python -m bot.analysis.train` rebuilds both files; see docs/analysis.md.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.analysis import features
from bot.analysis.wordvectors import WordScores
from bot.model import CxType, SentimentLabel

log = logging.getLogger(__name__)

SPEEDUPS_VERSION = 2
"""The interface of `_speedups` this code calls: a build of another version (an editable install not rebuilt after
an update) is left unused, not called with the wrong arguments."""

try:
    import bot.analysis._speedups as _speedups
except ImportError:  # built at install only where a C compiler was present; the numpy code gives the same scores
    _speedups = None  # type: ignore[assignment]
else:
    if getattr(_speedups, "VERSION", None) != SPEEDUPS_VERSION:
        log.warning("bot/analysis/_speedups is a stale build (interface %s, this code needs %s): posts are scored "
                    "with numpy, a little slower; `pip install -e .` rebuilds it",
                    getattr(_speedups, "VERSION", "1"), SPEEDUPS_VERSION)
        _speedups = None  # type: ignore[assignment]

MODEL_DIR = Path(__file__).with_name("data")
MODEL_NAME = "model"


@dataclass(frozen=True, slots=True)
class Prediction:
    """Class probabilities of one post."""

    sentiment: dict[str, float]
    cx: dict[str, float]


class LinearModel:
    """Weights of both heads in one matrix, so a post costs one gather."""

    def __init__(
        self,
        weights: npt.NDArray[np.float32],
        bias: npt.NDArray[np.float32],
        meta: dict[str, Any],
        words: WordScores | None = None,
        compiled: bool = True,
    ) -> None:
        """`compiled=False` scores posts with numpy even where the C scorer is built (for benchmarks and tests)."""
        self._compiled = _speedups if compiled else None
        self.sentiment_labels: tuple[SentimentLabel, ...] = tuple(meta["sentiment_labels"])
        self.cx_labels: tuple[CxType, ...] = tuple(meta["cx_labels"])
        self._neg = self.sentiment_labels.index("negative")
        self._pos = self.sentiment_labels.index("positive")
        self._complaint = self.cx_labels.index("complaint")
        self.meta = meta
        self.complaint_at = float(meta.get("complaint_threshold", 0.5))
        self.complaint_neg_weight = float(meta.get("complaint_negative_weight", 0.0))
        self.rule_weight = float(meta.get("cx_rule_weight", 0.0))
        self.complaint_min_p = float(meta.get("complaint_min_probability", 0.0))
        self._rule_slots = {features.slot(f"rule_{label}"): i for i, label in enumerate(self.cx_labels)}
        self._rule_names = tuple((f"rule_{label}", i) for i, label in enumerate(self.cx_labels))
        if weights.shape != (features.DIM, len(self.sentiment_labels) + len(self.cx_labels)):
            raise ValueError(f"model weights have shape {weights.shape}, expected ({features.DIM}, 8): rebuild it")
        self.words = words if words is not None else WordScores.empty(weights.shape[1])
        if self.words.scores.shape[1] != weights.shape[1]:
            raise ValueError(f"word scores have {self.words.scores.shape[1]} classes, weights {weights.shape[1]}")
        # The word scores sit below the hashed features' weights in one matrix, so a post's words join its one
        # gather (an extra ~20 rows of ~300) instead of a second gather and a numpy mean (~7 µs a post more). Filled
        # in place (float16 cast as it is copied) and shared by `weights` and `words`: no second copy stays resident.
        rows = np.empty((features.DIM + len(self.words), weights.shape[1]), dtype=np.float32)
        rows[: features.DIM] = weights
        rows[features.DIM :] = self.words.scores
        self._rows = rows
        self.weights = rows[: features.DIM]
        self.words = WordScores(self.words.keys, rows[features.DIM :])
        self.bias = bias.astype(np.float32)

    @classmethod
    def load(cls, folder: Path = MODEL_DIR, name: str = MODEL_NAME, compiled: bool = True) -> LinearModel:
        """Read `name.npz` and `name.json` from `folder`; `compiled` as in the constructor."""
        meta = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
        with np.load(folder / f"{name}.npz") as data:
            weights = data["weights"]  # float16 as stored: cast once, into the model's own matrix
            bias = data["bias"]
            words = WordScores(data["word_keys"], data["word_scores"]) if "word_keys" in data.files else None
        return cls(weights, bias, meta, words, compiled)

    def save(self, folder: Path, name: str = MODEL_NAME) -> None:
        """Write the model as `name.npz` (float16 weights) and `name.json`."""
        folder.mkdir(parents=True, exist_ok=True)
        weights = np.ascontiguousarray(self.weights, dtype=np.float16)  # row-major: a post gathers whole rows
        np.savez_compressed(
            folder / f"{name}.npz",
            weights=weights,
            bias=self.bias,
            word_keys=self.words.keys,
            word_scores=self.words.scores.astype(np.float16),
        )
        (folder / f"{name}.json").write_text(json.dumps(self.meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")

    def scores(
        self, idx: features.IntArray, val: features.FloatArray, words: Sequence[int] = ()
    ) -> npt.NDArray[np.float32]:
        """Raw class scores (both heads side by side) of one feature vector and the post's word rows
        (`features.vector_rows` with `self.words.row_of`)."""
        if words:
            n = len(words)
            idx = np.concatenate([idx, np.array(words, dtype=np.int64) + features.DIM])
            val = np.concatenate([val, np.full(n, 1.0 / n, dtype=np.float32)])
        out: npt.NDArray[np.float32] = val @ self._rows.take(idx, axis=0) + self.bias
        return out

    def decide(
        self, idx: features.IntArray, val: features.FloatArray, words: Sequence[int] = ()
    ) -> tuple[SentimentLabel, float, float, CxType, float]:
        """(sentiment, score p(pos) - p(neg), its probability, CX type, its probability) of one post.

        The CX probabilities are the model's blended with the rule classifier's verdict (weight `cx_rule_weight`).
        Complaint is chosen when p(complaint) is at least complaint_min_probability and p(complaint) +
        complaint_neg_weight * p(negative) reaches complaint_at (the operating point, see docs/analysis.md);
        otherwise the most likely other type. Plain Python on 8 numbers:
        cheaper than numpy calls at this size.
        """
        rule = self._rule_slots.get(int(idx[features.RULE_POSITION]))
        if rule is None:
            rule = next((self._rule_slots[i] for i in idx.tolist() if i in self._rule_slots), None)
        return self._decide(self.scores(idx, val, words).tolist(), rule)

    def decide_parts(
        self, parts: features.Parts, words: list[int]
    ) -> tuple[SentimentLabel, float, float, CxType, float]:
        """`decide(*features.vector(parts), words)`, scored by the compiled scorer where it is built.

        The C scorer hashes the character n-grams and the words and sums the post's weight rows in one call, where
        numpy and Python need a dozen small calls and a loop: on 30 November the whole ingest (`bench/ingest.py`) ran
        a median 1.21 times as fast with it as with the numpy scorer (eight alternating runs; docs/analysis.md,
        "Cost"). It sums in double precision, numpy in float32: the scores agree to ~1e-6."""
        dense = parts.dense
        rule = next((i for name, i in self._rule_names if name in dense), None)
        if self._compiled is None:
            return self._decide(self.scores(*features.vector(parts), words).tolist(), rule)
        raw = self._compiled.scores(
            self._rows, self.bias, features.HASHING, parts.text, parts.surfaces, features.language_salt(parts.lang),
            features.dense_slots(dense), list(dense.values()), words, features.DIM,
        )
        return self._decide(raw, rule)

    def _decide(self, raw: list[float], rule: int | None) -> tuple[SentimentLabel, float, float, CxType, float]:
        k = len(self.sentiment_labels)
        p_sent = _softmax_list(raw[:k])
        p_cx = _softmax_list(raw[k:])
        if self.rule_weight and rule is not None:
            # The old rule classifier's verdict, blended in: it was written for posts like ours (see docs/analysis.md).
            keep = 1.0 - self.rule_weight
            p_cx = [p * keep for p in p_cx]
            p_cx[rule] += self.rule_weight
        s = max(range(k), key=p_sent.__getitem__)
        negative = p_sent[self._neg]
        complaint = self._complaint
        p_complaint = p_cx[complaint]
        if (
            p_complaint >= self.complaint_min_p
            and p_complaint + self.complaint_neg_weight * negative >= self.complaint_at
        ):
            c = complaint
        else:
            c = max((i for i in range(len(p_cx)) if i != complaint), key=p_cx.__getitem__)
        return (
            self.sentiment_labels[s],
            p_sent[self._pos] - negative,
            p_sent[s],
            self.cx_labels[c],
            p_cx[c],
        )

    def predict(
        self, idx: features.IntArray, val: features.FloatArray, words: Sequence[int] = ()
    ) -> tuple[npt.NDArray[np.float64], ...]:
        """Sentiment and CX probabilities, in the order of the label tuples."""
        raw = self.scores(idx, val, words).astype(np.float64)
        k = len(self.sentiment_labels)
        return _softmax(raw[:k]), _softmax(raw[k:])


def _softmax_list(x: list[float]) -> list[float]:
    top = max(x)
    e = [math.exp(v - top) for v in x]
    total = sum(e)
    return [v / total for v in e]


def _softmax(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    e = np.exp(x - x.max())
    out: npt.NDArray[np.float64] = e / e.sum()
    return out
