"""Normalised posts to storable ones: drop opt-outs, match brands, analyse."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.ingest.matching import BrandMatcher
from bot.model import AnalysedPost, Analysis, Post
from bot.ops.failures import FailureLog

log = logging.getLogger(__name__)


class PostAnalyser(Protocol):
    """Anything that classifies a post: the lexicon analyser today, a stronger model later."""

    def analyse(self, post: Post, brands: Sequence[str] = ()) -> Analysis:
        """Language, sentiment, customer-experience type and topics of `post`."""
        ...


@dataclass(frozen=True, slots=True)
class Processed:
    """The posts worth storing from one page, and how many were left out because their authors opted out."""

    posts: list[AnalysedPost]
    skipped: int


class Pipeline:
    """The per-post work between a source and storage; stateless, so one instance serves every poll."""

    def __init__(
        self,
        matcher: BrandMatcher,
        analyser: PostAnalyser | None = None,
        *,
        respect_opt_outs: bool = True,
        failures: FailureLog | None = None,
        language_check: Callable[[Post], Post] | None = None,
    ) -> None:
        self.matcher = matcher
        self.analyser = analyser
        self.respect_opt_outs = respect_opt_outs
        self.failures = failures or FailureLog(log)
        """Where an analysis that raised is reported; the post is then stored without analysis."""
        self.language_check = language_check
        """Checks a declared language against the text before the analysis relies on it (`LanguageCheck`)."""

    def process(self, posts: Iterable[Post]) -> Processed:
        """Match and analyse each post, leaving out those whose authors asked not to be indexed."""
        out: list[AnalysedPost] = []
        skipped = 0
        for post in posts:
            if self.respect_opt_outs and post.author.opted_out:
                skipped += 1
                continue
            if self.language_check is not None:
                post = self.language_check(post)
            out.append(AnalysedPost(post, self.matcher.match(post)))
        if self.analyser is None or not out:
            return Processed(out, skipped)
        items = [(item.post, tuple(dict.fromkeys(m.brand for m in item.matches))) for item in out]
        analyses = self._analyse(self.analyser, items)
        return Processed(
            [AnalysedPost(item.post, item.matches, a) for item, a in zip(out, analyses, strict=True)], skipped
        )

    def _analyse(self, analyser: PostAnalyser, items: list[tuple[Post, tuple[str, ...]]]) -> list[Analysis | None]:
        # An analyser that can take a page at once (a configured transformers model classifies in batches) does;
        # if the batch fails, each post is tried alone so one odd post costs only its own analysis.
        many = getattr(analyser, "analyse_many", None)
        if many is not None:
            try:
                return list(many(items))
            except Exception as exc:
                self.failures.record("analysis", exc, what=f"a page of {len(items)} posts")
        found: list[Analysis | None] = []
        for post, brands in items:
            try:
                found.append(analyser.analyse(post, brands))
            except Exception as exc:  # stored without analysis; the failure is logged once per kind and counted
                self.failures.record("analysis", exc, what=post.uri)
                found.append(None)
        return found
