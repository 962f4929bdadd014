"""A user's own sentiment model: a Hugging Face sequence-classification model in a local folder.

Configured with `[analysis] model = "PATH"`; needs the `transformers` extra (`pip install merkwacht[transformers]`:
transformers + torch, CPU). Nothing is downloaded: the folder must hold `config.json`, the weights and the tokenizer
as `save_pretrained` writes them. Posts are classified in batches from the pipeline's worker thread (the pipeline
runs in `asyncio.to_thread`), never on the event loop.

Labels are read from the model's `id2label`: names like negative / neutral / positive (or neg / neu / pos, or
1-5 stars), or `LABEL_0..2` taken as negative, neutral, positive (the convention of the public sentiment models).
A two-label model decides polarity only: the shipped model still decides whether a post is neutral. If the config
lists `merkwacht_languages`, posts in other languages keep the shipped model's answer; CX type always comes from the
shipped model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.config import ConfigError
from bot.model import SentimentLabel

BATCH = 32
MAX_TOKENS = 256

_NAMES: dict[str, SentimentLabel] = {
    "negative": "negative",
    "neg": "negative",
    "neutral": "neutral",
    "neu": "neutral",
    "positive": "positive",
    "pos": "positive",
}
_STARS = re.compile(r"^([1-5]) stars?$")


def label_map(id2label: dict[int, str]) -> dict[int, SentimentLabel]:
    """Class index -> sentiment label; raises ValueError for labels that are not sentiment."""
    names = {int(i): str(name).strip().lower() for i, name in id2label.items()}
    out: dict[int, SentimentLabel] = {}
    if all(re.fullmatch(r"label_\d+", n) for n in names.values()):
        order: dict[int, tuple[SentimentLabel, ...]] = {
            2: ("negative", "positive"),
            3: ("negative", "neutral", "positive"),
        }
        if len(names) not in order:
            raise ValueError(f"{len(names)} unnamed labels (LABEL_0..): only 2 or 3 can be read as sentiment")
        for i, n in names.items():
            out[i] = order[len(names)][int(n.split("_")[1])]
        return out
    for i, n in names.items():
        star = _STARS.match(n)
        if star:
            stars = int(star.group(1))
            out[i] = "negative" if stars <= 2 else "neutral" if stars == 3 else "positive"
        elif n in _NAMES:
            out[i] = _NAMES[n]
        else:
            raise ValueError(f"label {id2label[i]!r} is not a sentiment (expected negative/neutral/positive)")
    if not {"negative", "positive"} <= set(out.values()):
        raise ValueError("the labels do not include both negative and positive")
    return out


class ExternalClassifier:
    """A loaded transformers model with its tokenizer and label mapping."""

    def __init__(self, path: Path, model: Any, tokenizer: Any, labels: dict[int, SentimentLabel]) -> None:
        self.path = path
        self._model = model
        self._tokenizer = tokenizer
        self.labels = labels
        self.has_neutral = "neutral" in labels.values()
        config = getattr(model, "config", None)
        langs = getattr(config, "merkwacht_languages", None)
        self.languages: frozenset[str] | None = frozenset(langs) if langs else None

    @classmethod
    def load(cls, path: Path) -> ExternalClassifier:
        """Load from a local folder; a `ConfigError` names the path and what is wrong with it."""
        path = Path(path).expanduser()

        def fail(why: str) -> ConfigError:
            return ConfigError([f"[analysis] model = {str(path)!r}: {why}"])

        if not path.exists():
            raise fail("no such folder")
        if not path.is_dir():
            raise fail("is a file, not a model folder (expected a folder written by save_pretrained)")
        config_file = path / "config.json"
        if not config_file.is_file():
            raise fail("no config.json: not a Hugging Face model folder")
        try:
            config = json.loads(config_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise fail(f"config.json cannot be read: {exc}") from exc
        archs = config.get("architectures") or []
        if archs and not any("SequenceClassification" in a for a in archs):
            raise fail(f"is a {', '.join(archs)}, not a sequence-classification model")
        try:
            import torch
            from transformers import AutoModelForSequenceClassification, AutoTokenizer
        except ImportError as exc:
            raise fail(f"needs the transformers extra (pip install 'merkwacht[transformers]'): {exc}") from exc
        try:
            tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            model = AutoModelForSequenceClassification.from_pretrained(path, local_files_only=True)
        except Exception as exc:  # transformers raises OSError, ValueError, KeyError... for broken folders
            raise fail(f"cannot be loaded as a sequence-classification model: {exc}") from exc
        try:
            labels = label_map(dict(model.config.id2label))
        except ValueError as exc:
            raise fail(str(exc)) from exc
        model.eval()
        torch.set_grad_enabled(False)
        return cls(path, model, tokenizer, labels)

    def classify(
        self, texts: Sequence[str], languages: Sequence[str | None]
    ) -> list[tuple[SentimentLabel, float, float] | None]:
        """(label, score -1..1, confidence) per text, or None where the shipped model should answer (a language the
        model does not list). A two-label model gives no neutral: such texts get None when it is unsure (< 0.6)."""
        import torch

        todo = [i for i, lang in enumerate(languages) if self.languages is None or lang in self.languages]
        out: list[tuple[SentimentLabel, float, float] | None] = [None] * len(texts)
        for start in range(0, len(todo), BATCH):
            chunk = todo[start : start + BATCH]
            batch = self._tokenizer(
                [texts[i] for i in chunk], padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
            )
            with torch.inference_mode():
                probs = torch.softmax(self._model(**batch).logits.float(), dim=-1).tolist()
            for i, row in zip(chunk, probs, strict=True):
                per_label: dict[SentimentLabel, float] = {"negative": 0.0, "neutral": 0.0, "positive": 0.0}
                for k, p in enumerate(row):
                    per_label[self.labels[k]] += p
                label = max(per_label, key=per_label.__getitem__)
                confidence = per_label[label]
                if not self.has_neutral and confidence < 0.6:
                    continue
                out[i] = (label, round(per_label["positive"] - per_label["negative"], 4), round(confidence, 4))
        return out
