"""The reported figures (README, docs/analysis.md) must hold: none may fall more than 0.03 below what was reported.

Real data: the test split of the shared labelled sets (../shared/data/labelled), which training never reads; these
tests skip when that folder is absent (a clean clone). Own posts: the held-out split of tests/data/analysis_eval.jsonl.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bot.analysis import Analyser

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data" / "labelled"
REPORTED = json.loads((Path(__file__).with_name("reported_figures.json")).read_text(encoding="utf-8"))
TOLERANCE = 0.03


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("eval_analysis", ROOT / "bench" / "eval_analysis.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return _bench()


@pytest.fixture(scope="module")
def heldout(bench: ModuleType, analyser: Analyser) -> dict[str, Any]:
    report: dict[str, Any] = bench.evaluate(analyser, bench.load_eval("heldout"))
    return report


@pytest.fixture(scope="module")
def real(bench: ModuleType, analyser: Analyser) -> dict[str, Any]:
    if not SHARED.is_dir():
        pytest.skip(f"the shared labelled data is not at {SHARED} (only in the project workspace, not in a clone)")

    def label(text: str, lang: str | None) -> tuple[str, str]:
        a = analyser.analyse_text(text, lang)
        return a.sentiment, a.cx

    figures: dict[str, Any] = bench.real_figures({"model": label}, SHARED)
    return figures


def test_eval_set_has_the_promised_shape() -> None:
    rows = [json.loads(line) for line in (ROOT / "tests" / "data" / "analysis_eval.jsonl").read_text().splitlines()]
    assert len(rows) >= 400
    assert {r["split"] for r in rows} == {"dev", "heldout"}
    assert len({r["id"] for r in rows}) == len(rows)
    for lang in ("nl", "en"):
        assert sum(r["lang"] == lang for r in rows) >= 180
    assert sum(r["lang"] in ("de", "fr", "es") for r in rows) >= 50


@pytest.mark.parametrize("group", sorted(REPORTED["own"]))
@pytest.mark.parametrize("task", ["sentiment", "cx"])
def test_own_heldout_macro_f1_holds(heldout: dict[str, Any], group: str, task: str) -> None:
    reported = REPORTED["own"][group][task]["macro_f1"]
    measured = heldout[group][task]["macro_f1"]
    assert measured >= reported - TOLERANCE, f"{group} {task} macro-F1 {measured} < reported {reported} - {TOLERANCE}"


@pytest.mark.parametrize("group", sorted(REPORTED["real"]))
def test_real_heldout_figures_hold(real: dict[str, Any], group: str) -> None:
    reported = REPORTED["real"][group]
    measured = real[group]["model"]
    assert measured["macro_f1"] >= reported["macro_f1"] - TOLERANCE, f"{group}: {measured['macro_f1']} < {reported}"
    if "complaint_recall" in reported:
        recall = measured["per_class"]["complaint"]["recall"]
        assert recall >= reported["complaint_recall"] - TOLERANCE, f"{group}: complaint recall {recall} < {reported}"
