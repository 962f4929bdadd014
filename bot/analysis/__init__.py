"""The analysis stage: language, sentiment, customer-experience type and topics of a post.

`Analyser` is the one interface the rest of Merkwacht uses. By default it runs the shipped learned model
(`linear.LinearModel`, trained by `bot.analysis.train` on real labelled posts) over hashed words, character n-grams
and the rule cues (`features`); with `[analysis] model = "PATH"` a local Hugging Face classifier (`external`) decides
sentiment for the languages it covers, and the shipped model does the rest. The old rule analyser is
`rules.RuleAnalyser`, kept as a baseline.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from bot.analysis import features, lexicons
from bot.analysis import language as lang_rules
from bot.analysis.linear import LinearModel
from bot.analysis.text import clean, tokenise
from bot.analysis.topics import TopicMatcher
from bot.config import AnalysisConfig, BrandConfig, TopicConfig
from bot.model import Analysis, Post
from bot.ops.failures import FailureLog

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from bot.analysis.external import ExternalClassifier

__all__ = ["Analyser"]


def _fold(name: str) -> str:
    return "".join(name.casefold().lstrip("#@").split())


@functools.lru_cache(maxsize=1024)
def _name_keys(brand: str) -> tuple[str, ...]:
    folded = _fold(brand)
    return (folded,) if folded else ()


class Analyser:
    """Builds once (loads the model, lexicons, the restricted language detector), then analyses many posts cheaply."""

    def __init__(
        self,
        config: AnalysisConfig,
        topics: Sequence[TopicConfig] = (),
        *,
        brands: Sequence[BrandConfig] = (),
        watched: Iterable[str] = (),
        model: LinearModel | None = None,
        failures: FailureLog | None = None,
    ) -> None:
        """`brands` and `watched` (hashtags polled for) name what selects posts: those hashtags carry no sentiment."""
        self.languages = tuple(config.languages)
        self._failures = failures or FailureLog(log)
        """Where a failure is reported (logged once per kind, then counted): the post still gets an answer."""
        self._detector = lang_rules.LanguageDetector(self.languages, self._failures)
        self._lexicons = lexicons.Lexicons(self.languages)
        self._topics = TopicMatcher(topics)
        self._model = model if model is not None else LinearModel.load()
        self._tags: frozenset[str] = frozenset()
        self._names: frozenset[str] = frozenset()
        self.select(brands, watched)
        self._external: ExternalClassifier | None = None
        if config.model is not None:
            from bot.analysis.external import ExternalClassifier

            self._external = ExternalClassifier.load(config.model)
        # Build lingua now: construction may take a moment, the first post should not.
        self._detector.warm_up()

    def select(self, brands: Sequence[BrandConfig], watched: Iterable[str]) -> None:
        """Name what selects posts now (the brands, the watched hashtags): those words carry no sentiment.

        The daemon calls this again when the watch list changes at run time.
        """
        tags = {_fold(t) for t in watched}
        names: set[str] = set()
        for brand in brands:
            tags.update(_fold(t) for t in brand.hashtags)
            names.add(_fold(brand.name))
            names.update(_fold(t) for t in brand.terms if " " not in t.strip())
            names.update(_fold(h).split("@", 1)[0] for h in brand.handles)
        # Swapped whole, so a page analysed in a worker thread meanwhile sees either the old sets or the new ones.
        self._tags, self._names = frozenset(t for t in tags if t), frozenset(n for n in names if n)

    def analyse(self, post: Post, brands: Sequence[str] = ()) -> Analysis:
        """Analyse a stored post; `brands` are the names of the brands it matched (they carry no sentiment)."""
        return self.analyse_text(_post_text(post), post.language, brands)

    def analyse_many(self, items: Sequence[tuple[Post, Sequence[str]]]) -> list[Analysis]:
        """Analyse posts with their matched brands together: a configured external model classifies them batched."""
        out = [self.analyse(post, brands) for post, brands in items]
        if self._external is None or not out:
            return out
        return self._external_pass([_post_text(p) for p, _ in items], out)

    def analyse_text(self, text: str, language: str | None = None, brands: Sequence[str] = ()) -> Analysis:
        """Analyse plain text; `language` is the declared language, if any. Never raises."""
        declared = lang_rules.normalise_tag(language)
        try:
            analysis = self._analyse(text, declared, brands)
        except Exception as exc:  # the pipeline must keep going whatever a post contains; see the property tests
            self._failures.record("analysis", exc, what=repr(text[:40]))
            return Analysis(language=declared, sentiment="neutral", sentiment_score=0.0, cx="other")
        if self._external is not None:
            return self._external_pass([text], [analysis])[0]
        return analysis

    def _external_pass(self, texts: Sequence[str], analyses: list[Analysis]) -> list[Analysis]:
        assert self._external is not None
        try:
            results = self._external.classify(texts, [a.language for a in analyses])
        except Exception as exc:  # a failing user model must not stop ingestion: the shipped model's answer stands
            self._failures.record("configured model", exc, what=f"{len(texts)} posts")
            return analyses
        out = []
        for analysis, result in zip(analyses, results, strict=True):
            if result is None:
                out.append(analysis)
            else:
                label, score, confidence = result
                out.append(replace(analysis, sentiment=label, sentiment_score=score, sentiment_confidence=confidence))
        return out

    def _analyse(self, raw: str, declared: str | None, brands: Sequence[str]) -> Analysis:
        text = clean(raw)
        tokens = tokenise(text)
        language = declared or self._detector.detect(text, [t.norm for t in tokens if t.kind == "word"])
        names = self._names
        if brands:
            # The matched brands are nearly always configured ones, already in `names`: copying a set of a thousand
            # names per post for nothing cost more than the rest of this function.
            extra = [k for b in brands for k in _name_keys(b) if k not in names]
            if extra:
                names = names.union(extra)
        kept = features.selected(tokens, self._tags, names)
        parts = features.parts(kept, language, self._lexicons.of(language), "http" in text or "www." in text)
        words = features.vector_rows(kept, self._model.words.row_of)
        sentiment, score, s_conf, cx, c_conf = self._model.decide_parts(parts, words)
        return Analysis(
            language=language,
            sentiment=sentiment,
            sentiment_score=round(score, 4),
            cx=cx,
            topics=self._topics.match(text),
            sentiment_confidence=round(s_conf, 4),
            cx_confidence=round(c_conf, 4),
        )


def _post_text(post: Post) -> str:
    return f"{post.spoiler_text}\n{post.text}" if post.spoiler_text else post.text
