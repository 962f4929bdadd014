"""Measure the analysis stage: accuracy, macro-F1 and confusion matrices on the project's labelled posts.

    python bench/eval_analysis.py                 # held-out split (the reported figures)
    python bench/eval_analysis.py --split dev     # the split rules and thresholds were tuned on
    python bench/eval_analysis.py --json out.json # also write the figures as JSON

Mastodon-style posts are analysed with their language declared, Discord-style ones without (detected), as in the
pipeline. The shared research datasets (../shared/data/labelled) are reported separately when present.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.analysis import Analyser  # noqa: E402
from bot.config import AnalysisConfig  # noqa: E402

EVAL_SET = ROOT / "tests" / "data" / "analysis_eval.jsonl"
SHARED = ROOT.parent / "shared" / "data" / "labelled"
SENTIMENTS = ("positive", "neutral", "negative")
CX_TYPES = ("complaint", "praise", "question", "suggestion", "other")
LANGUAGES = ("nl", "en", "de", "fr", "es")


def load_eval(split: str, path: Path = EVAL_SET) -> list[dict[str, Any]]:
    """The labelled posts of one split ("dev", "heldout" or "all")."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if split == "all" or r["split"] == split]


def macro_f1(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> float:
    """Unweighted mean F1 over the labels that occur in gold or predictions."""
    scores = []
    for label in labels:
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == label and p == label)
        fp = sum(1 for g, p in zip(gold, pred, strict=True) if g != label and p == label)
        fn = sum(1 for g, p in zip(gold, pred, strict=True) if g == label and p != label)
        if tp + fp + fn == 0:
            continue
        scores.append(2 * tp / (2 * tp + fp + fn))
    return sum(scores) / len(scores) if scores else 0.0


def accuracy(gold: Sequence[str], pred: Sequence[str]) -> float:
    """Share of exact matches."""
    return sum(1 for g, p in zip(gold, pred, strict=True) if g == p) / len(gold) if gold else 0.0


def confusion(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> str:
    """A confusion matrix as text: rows are gold labels, columns predictions."""
    counts = Counter(zip(gold, pred, strict=True))
    width = max(len(label) for label in labels) + 1
    lines = ["gold \\ pred".ljust(width + 2) + "".join(label[:10].rjust(11) for label in labels)]
    for g in labels:
        lines.append(g.ljust(width + 2) + "".join(str(counts[(g, p)]).rjust(11) for p in labels))
    return "\n".join(lines)


def evaluate(analyser: Analyser, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
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
                "accuracy": round(accuracy(gold, pred), 3),
                "macro_f1": round(macro_f1(gold, pred, labels), 3),
            }
            entry[task]["confusion"] = confusion(gold, pred, labels)
        report[name] = entry
    undeclared = [i for i, r in enumerate(rows) if r["source_style"] != "mastodon"]
    report["language_detection"] = {
        "n": len(undeclared),
        "accuracy": round(
            accuracy([rows[i]["lang"] for i in undeclared], [str(preds[i].language) for i in undeclared]), 3
        ),
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
    """Mean CPU microseconds per post, with languages declared and with detection (the Discord case).

    CPU time, not wall time: on a shared machine other processes' load would otherwise be counted as ours.
    """
    out = {}
    for name, declare in (("declared", True), ("detected", False)):
        start = time.process_time()
        for _ in range(rounds):
            for text, lang in texts:
                analyser.analyse_text(text, lang if declare else None)
        out[f"us_per_post_{name}"] = round((time.process_time() - start) / (rounds * len(texts)) * 1e6, 1)
    return out


def _jsonl(path: Path) -> Iterable[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def shared_figures(analyser: Analyser, folder: Path = SHARED) -> dict[str, Any]:
    """Sentiment (and complaint) figures on the shared research datasets that are present; skips missing ones."""
    out: dict[str, Any] = {}
    for name in ("tweeteval_val_en", "zegelaar_train_nl", "umsab_train_de", "umsab_train_fr", "umsab_train_es"):
        path = folder / f"{name}.jsonl"
        if not path.is_file():
            continue
        rows = [r for r in _jsonl(path) if r.get("sentiment") in SENTIMENTS]
        pred = [analyser.analyse_text(r["text"], r.get("lang")).sentiment for r in rows]
        gold = [r["sentiment"] for r in rows]
        out[name] = {
            "n": len(rows),
            "accuracy": round(accuracy(gold, pred), 3),
            "macro_f1": round(macro_f1(gold, pred, SENTIMENTS), 3),
        }
    path = folder / "complaints_train_en.jsonl"
    if path.is_file():
        rows = [r for r in _jsonl(path) if r.get("cx") in ("complaint", "not_complaint")]
        pred = [
            "complaint" if analyser.analyse_text(r["text"], "en").cx == "complaint" else "not_complaint" for r in rows
        ]
        gold = [r["cx"] for r in rows]
        out["complaints_train_en"] = {
            "n": len(rows),
            "accuracy": round(accuracy(gold, pred), 3),
            "macro_f1": round(macro_f1(gold, pred, ("complaint", "not_complaint")), 3),
        }
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Print the figures; with --json also write them."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=("dev", "heldout", "all"), default="heldout")
    parser.add_argument("--json", type=Path, help="write the figures here as JSON")
    parser.add_argument("--errors", action="store_true", help="list the misclassified posts")
    parser.add_argument("--no-shared", action="store_true", help="skip the shared research datasets")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    analyser = Analyser(AnalysisConfig())
    build_s = time.perf_counter() - start
    rows = load_eval(args.split)
    report = evaluate(analyser, rows)
    errors = report.pop("_errors")

    print(f"Merkwacht analysis, split={args.split}, {len(rows)} posts; Analyser built in {build_s:.2f} s\n")
    print(f"{'group':10} {'n':>4}  {'sent acc':>8} {'sent F1':>8}  {'cx acc':>7} {'cx F1':>7}")
    for name, entry in report.items():
        if name == "language_detection":
            continue
        s, c = entry["sentiment"], entry["cx"]
        sent = f"{s['accuracy']:>8.3f} {s['macro_f1']:>8.3f}"
        print(f"{name:10} {entry['n']:>4}  {sent}  {c['accuracy']:>7.3f} {c['macro_f1']:>7.3f}")
    det = report["language_detection"]
    print(f"\nlanguage detection on undeclared (Discord-style) posts: {det['accuracy']:.3f} of {det['n']}")
    for task in ("sentiment", "cx"):
        print(f"\n{task} confusion, all languages:\n{report['all'][task]['confusion']}")

    texts = [(r["text"], r["lang"]) for r in load_eval("all")]
    cost = per_post_cost(analyser, texts)
    print(
        f"\nper-post CPU cost: {cost['us_per_post_declared']} µs declared language, "
        f"{cost['us_per_post_detected']} µs with detection ({len(texts)} posts x 20)"
    )
    report["cost"] = cost

    if not args.no_shared:
        shared = shared_figures(analyser)
        report["shared"] = shared
        if shared:
            print("\nShared research datasets (not product talk; different label conventions; for reference):")
            for name, entry in shared.items():
                print(f"  {name:22} n={entry['n']:>5}  acc {entry['accuracy']:.3f}  macro-F1 {entry['macro_f1']:.3f}")
        else:
            print("\nShared research datasets: not found, skipped")
    if args.errors:
        print("\nMisclassified:")
        for e in errors:
            print(f"  {e['id']} gold={e['gold']} pred={e['pred']}  {e['text'][:110]}")
    if args.json:
        for entry in report.values():
            if isinstance(entry, dict):
                for task in ("sentiment", "cx"):
                    if isinstance(entry.get(task), dict):
                        entry[task].pop("confusion", None)
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
