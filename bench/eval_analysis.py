"""Measure the analysis: first on real, human-labelled posts held out from training, then on the project's own posts.

    python bench/eval_analysis.py                 # the reported figures
    python bench/eval_analysis.py --json out.json # also write them as JSON
    python bench/eval_analysis.py --errors        # list the project's own posts that were misread

Real data: the shared labelled sets (../shared/data/labelled, see docs/analysis.md). `bot.analysis.train.split_of`
puts 15 % of every file in a test split that training never reads (training fits on 70 %, tunes on another 15 %). Each
group is reported for the shipped model and, in the same run, for the baselines: VADER (English), the bare lexicons
(the project's lexicon scorer alone, every language) and the old rule analyser (lexicon + cue rules).

Own posts: tests/data/analysis_eval.jsonl, self-written product talk; its held-out split is never trained on.
Mastodon-style posts are analysed with their language declared, Discord-style ones without (detected).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.analysis import Analyser, lexicons  # noqa: E402
from bot.analysis import sentiment as senti  # noqa: E402
from bot.analysis.linear import LinearModel  # noqa: E402
from bot.analysis.rules import RuleAnalyser  # noqa: E402
from bot.analysis.text import clean, sentences, tokenise  # noqa: E402
from bot.analysis.train import split_of  # noqa: E402
from bot.config import AnalysisConfig  # noqa: E402

EVAL_SET = ROOT / "tests" / "data" / "analysis_eval.jsonl"
SHARED = ROOT.parent / "shared" / "data" / "labelled"
SENTIMENTS = ("positive", "neutral", "negative")
CX_TYPES = ("complaint", "praise", "question", "suggestion", "other")
LANGUAGES = ("nl", "en", "de", "fr", "es")

# Real-data groups: name -> (files, what is measured). Files are read from SHARED; only their test split counts.
GROUPS: dict[str, tuple[tuple[str, ...], str]] = {
    "en tweets (TweetEval)": (("tweeteval_train_en", "tweeteval_val_en"), "sentiment"),
    "en hotel reviews (OpeNER)": (("opener_hotel_en",), "sentiment"),
    "en complaints to companies": (("complaints_train_en",), "complaint"),
    "en banking support (banking77)": (("banking77_en",), "support"),
    "nl political tweets (Zegelaar)": (("zegelaar_train_nl",), "sentiment"),
    "nl news headlines (ecosent)": (("ecosent_headlines_nl",), "sentiment"),
    "nl subtitles (XED, silver)": (("xed_projected_nl",), "sentiment"),
    "de tweets (UMSAB)": (("umsab_train_de",), "sentiment"),
    "de Deutsche Bahn feedback (GermEval)": (("germeval2017_db_de",), "sentiment"),
    "fr tweets (UMSAB)": (("umsab_train_fr",), "sentiment"),
    "es tweets (UMSAB)": (("umsab_train_es",), "sentiment"),
    "es hotel reviews (OpeNER)": (("opener_hotel_es",), "sentiment"),
    "it tweets (UMSAB)": (("umsab_train_it",), "sentiment"),
    "pt tweets (UMSAB)": (("umsab_train_pt",), "sentiment"),
}


def load_eval(split: str, path: Path = EVAL_SET) -> list[dict[str, Any]]:
    """The labelled own posts of one split ("dev", "heldout" or "all")."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if split == "all" or r["split"] == split]


def per_class(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support per label."""
    out = {}
    for label in labels:
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == label and p == label)
        fp = sum(1 for g, p in zip(gold, pred, strict=True) if g != label and p == label)
        fn = sum(1 for g, p in zip(gold, pred, strict=True) if g == label and p != label)
        if tp + fp + fn == 0:
            continue
        out[label] = {
            "precision": round(tp / (tp + fp), 3) if tp + fp else 0.0,
            "recall": round(tp / (tp + fn), 3) if tp + fn else 0.0,
            "f1": round(2 * tp / (2 * tp + fp + fn), 3),
            "n": tp + fn,
        }
    return out


def macro_f1(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> float:
    """Unweighted mean F1 over the labels that occur in gold or predictions."""
    scores = [c["f1"] for c in per_class(gold, pred, labels).values()]
    return round(sum(scores) / len(scores), 3) if scores else 0.0


def accuracy(gold: Sequence[str], pred: Sequence[str]) -> float:
    """Share of exact matches."""
    return round(sum(1 for g, p in zip(gold, pred, strict=True) if g == p) / len(gold), 3) if gold else 0.0


def confusion(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> str:
    """A confusion matrix as text: rows are gold labels, columns predictions."""
    counts = Counter(zip(gold, pred, strict=True))
    width = max(len(label) for label in labels) + 1
    lines = ["gold \\ pred".ljust(width + 2) + "".join(label[:10].rjust(11) for label in labels)]
    for g in labels:
        lines.append(g.ljust(width + 2) + "".join(str(counts[(g, p)]).rjust(11) for p in labels))
    return "\n".join(lines)


def _jsonl(path: Path) -> Iterable[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


# --- the systems compared ---------------------------------------------------------------------------------------

Labeller = Callable[[str, str | None], tuple[str, str]]
"""(text, language) -> (sentiment, cx); a baseline that has no CX answers "other"."""


def _vader() -> Labeller | None:
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError:  # pragma: no cover - declared dependency
        return None
    vader = SentimentIntensityAnalyzer()

    def label(text: str, _lang: str | None) -> tuple[str, str]:
        c = vader.polarity_scores(text)["compound"]
        return ("positive" if c >= 0.05 else "negative" if c <= -0.05 else "neutral"), "other"

    return label


def _bare_lexicon(text: str, lang: str | None) -> tuple[str, str]:
    """The project's lexicon scorer alone (VADER-style modifiers, no cue rules, no model)."""
    code = lang if lang in lexicons.LEXICON_LANGUAGES else "xx"
    lexicon = lexicons.load(code)
    tokens = tokenise(clean(text))
    total = sum(senti.sentence_valence(s, lexicon) for s in sentences(tokens))
    return senti.label_for(senti.normalise(total)), "other"


def systems(config: AnalysisConfig, model: Analyser) -> dict[str, Labeller]:
    """The model under measure first, then the baselines."""
    rules = RuleAnalyser(config)

    def via(analyser: Analyser | RuleAnalyser) -> Labeller:
        def label(text: str, lang: str | None) -> tuple[str, str]:
            a = analyser.analyse_text(text, lang)
            return a.sentiment, a.cx

        return label

    out: dict[str, Labeller] = {"model": via(model), "rules": via(rules), "lexicon": _bare_lexicon}
    vader = _vader()
    if vader is not None:
        out["vader"] = vader
    return out


# --- real data --------------------------------------------------------------------------------------------------


def shared_rows(files: Sequence[str], folder: Path = SHARED) -> list[dict[str, Any]]:
    """The test split of the named shared files (those present)."""
    rows = []
    for name in files:
        path = folder / f"{name}.jsonl"
        if path.is_file():
            rows.extend(r for r in _jsonl(path) if split_of(name, str(r["id"])) == "test")
    return rows


def real_figures(labellers: dict[str, Labeller], folder: Path = SHARED) -> dict[str, Any]:
    """Per group and system: macro-F1, accuracy and per-class figures on the held-out test split."""
    out: dict[str, Any] = {}
    for group, (files, task) in GROUPS.items():
        rows = shared_rows(files, folder)
        if task == "sentiment":
            rows = [r for r in rows if r.get("sentiment") in SENTIMENTS]
        if not rows:
            continue
        lang = rows[0]["lang"]
        entry: dict[str, Any] = {"n": len(rows), "lang": lang, "task": task}
        for name, label in labellers.items():
            if name == "vader" and lang != "en":
                continue
            if task != "sentiment" and name in ("vader", "lexicon"):
                continue
            preds = [label(r["text"], r.get("lang")) for r in rows]
            if task == "sentiment":
                gold = [r["sentiment"] for r in rows]
                pred = [p[0] for p in preds]
                labels: Sequence[str] = SENTIMENTS
            elif task == "complaint":
                gold = [r["cx"] for r in rows]
                pred = ["complaint" if p[1] == "complaint" else "not_complaint" for p in preds]
                labels = ("complaint", "not_complaint")
            else:  # banking77: every text needs an answer, a question or a problem report
                gold = ["needs_answer"] * len(rows)
                pred = ["needs_answer" if p[1] in ("complaint", "question") else "missed" for p in preds]
                labels = ("needs_answer",)
            entry[name] = {
                "macro_f1": macro_f1(gold, pred, labels),
                "accuracy": accuracy(gold, pred),
                "per_class": per_class(gold, pred, labels),
            }
        out[group] = entry
    return out


# --- own posts --------------------------------------------------------------------------------------------------


def evaluate(analyser: Analyser | RuleAnalyser, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per-language and overall figures for sentiment and CX type, plus language detection on undeclared posts."""
    preds = []
    for row in rows:
        declared = row["lang"] if row["source_style"] == "mastodon" else None
        preds.append(analyser.analyse_text(row["text"], declared, row.get("brands", ())))
    report: dict[str, Any] = {}
    groups = {lang: [i for i, r in enumerate(rows) if r["lang"] == lang] for lang in LANGUAGES}
    groups["de+fr+es"] = [i for i, r in enumerate(rows) if r["lang"] in ("de", "fr", "es")]
    groups["all"] = list(range(len(rows)))
    for name, idx in groups.items():
        if not idx:
            continue
        entry: dict[str, Any] = {"n": len(idx)}
        for task, labels in (("sentiment", SENTIMENTS), ("cx", CX_TYPES)):
            gold = [rows[i][task] for i in idx]
            pred = [getattr(preds[i], task) for i in idx]
            entry[task] = {
                "accuracy": accuracy(gold, pred),
                "macro_f1": macro_f1(gold, pred, labels),
                "per_class": per_class(gold, pred, labels),
                "confusion": confusion(gold, pred, labels),
            }
        report[name] = entry
    undeclared = [i for i, r in enumerate(rows) if r["source_style"] != "mastodon"]
    report["language_detection"] = {
        "n": len(undeclared),
        "accuracy": accuracy([rows[i]["lang"] for i in undeclared], [str(preds[i].language) for i in undeclared]),
    }
    report["_errors"] = [
        {
            "id": rows[i]["id"],
            "text": rows[i]["text"],
            "gold": (rows[i]["sentiment"], rows[i]["cx"]),
            "pred": (preds[i].sentiment, preds[i].cx, round(preds[i].sentiment_score, 2), preds[i].language),
        }
        for i in range(len(rows))
        if (preds[i].sentiment, preds[i].cx) != (rows[i]["sentiment"], rows[i]["cx"])
    ]
    return report


def per_post_cost(analyser: Analyser, texts: Sequence[tuple[str, str | None]], rounds: int = 20) -> dict[str, float]:
    """Mean CPU microseconds per post, with languages declared and with detection (the Discord case)."""
    out = {}
    for name, declare in (("declared", True), ("detected", False)):
        start = time.process_time()
        for _ in range(rounds):
            for text, lang in texts:
                analyser.analyse_text(text, lang if declare else None)
        out[f"us_per_post_{name}"] = round((time.process_time() - start) / (rounds * len(texts)) * 1e6, 1)
    return out


def _print_real(real: dict[str, Any]) -> None:
    print("Real posts, held-out test split (15 % of each shared set, never trained or tuned on); macro-F1:\n")
    print(f"{'group':38} {'n':>5}  {'model':>6} {'rules':>6} {'lexicon':>7} {'vader':>6}")
    for group, entry in real.items():
        cells = []
        for name in ("model", "rules", "lexicon", "vader"):
            cells.append(f"{entry[name]['macro_f1']:.3f}" if name in entry else "-")
        print(f"{group:38} {entry['n']:>5}  {cells[0]:>6} {cells[1]:>6} {cells[2]:>7} {cells[3]:>6}")
    print("\nPer class, shipped model (precision / recall):")
    for group, entry in real.items():
        classes = ", ".join(
            f"{label} {c['precision']:.2f}/{c['recall']:.2f}" for label, c in entry["model"]["per_class"].items()
        )
        print(f"  {group:38} {classes}")


def main(argv: Sequence[str] | None = None) -> int:
    """Print the figures; with --json also write them."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="write the figures as JSON")
    parser.add_argument("--errors", action="store_true", help="list the misread own posts")
    parser.add_argument("--no-shared", action="store_true", help="skip the shared research datasets")
    parser.add_argument(
        "--model-dir",
        type=Path,
        help="measure the model.npz / model.json in this folder (as written by `bot.analysis.train --out`) instead "
        "of the shipped one",
    )
    args = parser.parse_args(argv)
    if args.model_dir is not None and not (args.model_dir / "model.json").is_file():
        parser.error(f"--model-dir {args.model_dir}: no model.json there")

    config = AnalysisConfig()
    start = time.perf_counter()
    analyser = Analyser(config) if args.model_dir is None else Analyser(config, model=LinearModel.load(args.model_dir))
    build_s = time.perf_counter() - start
    labellers = systems(config, analyser)
    report: dict[str, Any] = {"build_s": round(build_s, 2)}

    if not args.no_shared and SHARED.is_dir():
        report["real"] = real_figures(labellers)
        _print_real(report["real"])
    else:
        print(f"Real posts: {SHARED} not found, skipped")

    rows = load_eval("heldout")
    own = evaluate(analyser, rows)
    errors = own.pop("_errors")
    rules_own = evaluate(labellers_rules(config), rows)
    rules_own.pop("_errors")
    report["own"] = own
    report["own_rules"] = rules_own
    print(f"\nOwn posts (self-written product talk), held-out split, {len(rows)} posts; macro-F1 model (rules):")
    print(f"{'group':10} {'n':>4}  {'sentiment':>16} {'cx':>16}")
    for name, entry in own.items():
        if name == "language_detection":
            continue
        old = rules_own[name]
        s = f"{entry['sentiment']['macro_f1']:.3f} ({old['sentiment']['macro_f1']:.3f})"
        c = f"{entry['cx']['macro_f1']:.3f} ({old['cx']['macro_f1']:.3f})"
        print(f"{name:10} {entry['n']:>4}  {s:>16} {c:>16}")
    print("\nCX per class, own posts, all languages (precision / recall):")
    for label, c in own["all"]["cx"]["per_class"].items():
        print(f"  {label:11} {c['precision']:.2f} / {c['recall']:.2f}  (n={c['n']})")
    for task in ("sentiment", "cx"):
        print(f"\n{task} confusion, own posts, all languages:\n{own['all'][task]['confusion']}")
    det = own["language_detection"]
    print(f"\nlanguage detection on undeclared (Discord-style) posts: {det['accuracy']:.3f} of {det['n']}")

    texts = [(r["text"], r["lang"]) for r in load_eval("all")]
    cost = per_post_cost(analyser, texts)
    print(
        f"\nAnalyser built in {build_s:.2f} s; per-post CPU cost: {cost['us_per_post_declared']} µs declared, "
        f"{cost['us_per_post_detected']} µs with detection ({len(texts)} posts x 20)"
    )
    report["cost"] = cost
    if args.errors:
        print("\nMisread own posts:")
        for e in errors:
            print(f"  {e['id']} gold={e['gold']} pred={e['pred']}  {e['text'][:110]}")
    if args.json:
        for group in (report["own"], report["own_rules"]):
            for entry in group.values():
                for task in ("sentiment", "cx"):
                    if isinstance(entry, dict) and isinstance(entry.get(task), dict):
                        entry[task].pop("confusion", None)
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


def labellers_rules(config: AnalysisConfig) -> RuleAnalyser:
    """The old rule analyser, for the own-posts comparison."""
    return RuleAnalyser(config)


if __name__ == "__main__":
    raise SystemExit(main())
