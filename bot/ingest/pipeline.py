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
            matches = self.matcher.match(post)
            analysis = None
            if self.analyser is not None:
                try:
                    analysis = self.analyser.analyse(post, tuple(dict.fromkeys(m.brand for m in matches)))
                except Exception as exc:  # one odd post must not stop a page; the failure is logged and counted
                    self.failures.record("analysis", exc, what=post.uri)
            out.append(AnalysedPost(post, matches, analysis))
        return Processed(out, skipped)
