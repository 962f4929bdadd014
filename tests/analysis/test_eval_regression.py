"""The held-out figures must not fall more than 0.03 below those reported in docs/analysis.md."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from bot.analysis import Analyser

ROOT = Path(__file__).resolve().parents[2]
REPORTED = json.loads((Path(__file__).with_name("reported_figures.json")).read_text(encoding="utf-8"))
TOLERANCE = 0.03


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("eval_analysis", ROOT / "bench" / "eval_analysis.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def heldout(analyser: Analyser) -> dict[str, dict[str, dict[str, float]]]:
    bench = _bench()
    report = bench.evaluate(analyser, bench.load_eval("heldout"))
    return {k: v for k, v in report.items() if k in REPORTED["figures"]}


def test_eval_set_has_the_promised_shape() -> None:
    rows = [json.loads(line) for line in (ROOT / "tests" / "data" / "analysis_eval.jsonl").read_text().splitlines()]
    assert len(rows) >= 400
    assert {r["split"] for r in rows} == {"dev", "heldout"}
    assert len({r["id"] for r in rows}) == len(rows)
    for lang in ("nl", "en"):
        assert sum(r["lang"] == lang for r in rows) >= 180
    assert sum(r["lang"] in ("de", "fr", "es") for r in rows) >= 50


@pytest.mark.parametrize("group", sorted(REPORTED["figures"]))
@pytest.mark.parametrize("task", ["sentiment", "cx"])
def test_heldout_macro_f1_holds(heldout: dict[str, dict[str, dict[str, float]]], group: str, task: str) -> None:
    reported = REPORTED["figures"][group][task]["macro_f1"]
    measured = heldout[group][task]["macro_f1"]
    assert measured >= reported - TOLERANCE, f"{group} {task} macro-F1 {measured} < reported {reported} - {TOLERANCE}"
