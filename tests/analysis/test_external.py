"""`[analysis] model = PATH`: a local Hugging Face classifier, built here tiny and random (nothing is downloaded)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.analysis import Analyser
from bot.analysis.external import label_map
from bot.config import AnalysisConfig, ConfigError
from tests.analysis.helpers import post

VOCAB = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    *"the food was good bad great terrible service slow fast ik vind het lekker slecht niet".split(),
]


def _tiny_model(folder: Path, id2label: dict[int, str], languages: list[str] | None = None) -> Path:
    transformers = pytest.importorskip("transformers", reason="the transformers extra is not installed")
    pytest.importorskip("torch", reason="the transformers extra (torch) is not installed")
    folder.mkdir(parents=True, exist_ok=True)
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    tokenizer = transformers.BertTokenizerFast(vocab_file=str(vocab))
    config = transformers.BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        num_labels=len(id2label),
        id2label=id2label,
        label2id={v: k for k, v in id2label.items()},
    )
    if languages is not None:
        config.merkwacht_languages = languages
    import torch

    torch.manual_seed(0)
    model = transformers.BertForSequenceClassification(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_label_names_and_unnamed_labels_map_to_sentiment() -> None:
    assert label_map({0: "negative", 1: "neutral", 2: "positive"}) == {0: "negative", 1: "neutral", 2: "positive"}
    assert label_map({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}) == {0: "negative", 1: "neutral", 2: "positive"}
    assert label_map({0: "NEG", 1: "POS"}) == {0: "negative", 1: "positive"}
    assert label_map({i: f"{i + 1} stars" for i in range(5)})[2] == "neutral"
    with pytest.raises(ValueError, match="not a sentiment"):
        label_map({0: "sports", 1: "politics"})


def test_missing_folder_is_a_config_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(ConfigError, match=r"nope.*no such folder"):
        Analyser(AnalysisConfig(model=missing))


def test_folder_without_a_model_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("not a model")
    with pytest.raises(ConfigError, match=r"no config\.json"):
        Analyser(AnalysisConfig(model=tmp_path))
    file = tmp_path / "readme.txt"
    with pytest.raises(ConfigError, match="is a file"):
        Analyser(AnalysisConfig(model=file))


def test_model_of_the_wrong_kind_is_a_config_error(tmp_path: Path) -> None:
    folder = _tiny_model(tmp_path / "m", {0: "sports", 1: "politics"})
    with pytest.raises(ConfigError, match="not a sentiment"):
        Analyser(AnalysisConfig(model=folder))
    (folder / "config.json").write_text('{"architectures": ["BertForMaskedLM"]}')
    with pytest.raises(ConfigError, match="not a sequence-classification model"):
        Analyser(AnalysisConfig(model=folder))


@pytest.mark.parametrize(
    "id2label", [{0: "negative", 1: "neutral", 2: "positive"}, {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}]
)
def test_loaded_model_labels_posts_in_batches(tmp_path: Path, id2label: dict[int, str]) -> None:
    folder = _tiny_model(tmp_path / "m", id2label)
    analyser = Analyser(AnalysisConfig(model=folder))
    assert analyser._external is not None
    texts = [f"the food was {w} {i}" for i in range(40) for w in ("good", "bad")]
    # 80 posts: more than one batch of 32.
    direct = analyser._external.classify(texts, ["en"] * len(texts))
    assert all(r is not None for r in direct)
    analyses = analyser.analyse_many([(post(t, "en"), ()) for t in texts])
    assert len(analyses) == len(texts)
    for result, analysis in zip(direct, analyses, strict=True):
        assert result is not None
        label, score, confidence = result
        assert analysis.sentiment == label
        assert analysis.sentiment_confidence == confidence
        assert -1.0 <= score <= 1.0
        assert 1 / 3 <= confidence <= 1.0
        # CX is not something the external model knows: the shipped model gives it.
        assert analysis.cx in ("complaint", "praise", "question", "suggestion", "other")
        assert analysis.cx_confidence is not None


def test_languages_the_model_lacks_fall_back_to_the_shipped_model(tmp_path: Path) -> None:
    folder = _tiny_model(tmp_path / "m", {0: "negative", 1: "neutral", 2: "positive"}, languages=["en"])
    with_model = Analyser(AnalysisConfig(model=folder))
    shipped = Analyser(AnalysisConfig())
    dutch = "Ik vind het eten echt heel erg lekker, top!"
    assert with_model.analyse_text(dutch, "nl") == shipped.analyse_text(dutch, "nl")
    assert with_model._external is not None
    assert with_model._external.classify([dutch, "the food was good"], ["nl", "en"])[0] is None


def test_a_failing_model_leaves_the_shipped_answer(tmp_path: Path) -> None:
    folder = _tiny_model(tmp_path / "m", {0: "negative", 1: "neutral", 2: "positive"})
    analyser = Analyser(AnalysisConfig(model=folder))
    shipped = Analyser(AnalysisConfig())
    assert analyser._external is not None

    def broken(*_: object) -> None:
        raise RuntimeError("out of memory")

    analyser._external.classify = broken  # type: ignore[method-assign, assignment]
    text = "The food was terrible"
    assert analyser.analyse_text(text, "en") == shipped.analyse_text(text, "en")
