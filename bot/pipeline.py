"""Normalised posts to storable ones: drop opt-outs, match brands, analyse."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.matching import BrandMatcher
from bot.model import AnalysedPost, Analysis, Post


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

    def __init__(self, matcher: BrandMatcher, analyser: PostAnalyser | None = None, *, respect_opt_outs: bool = True):
        self.matcher = matcher
        self.analyser = analyser
        self.respect_opt_outs = respect_opt_outs

    def process(self, posts: Iterable[Post]) -> Processed:
        """Match and analyse each post, leaving out those whose authors asked not to be indexed."""
        out: list[AnalysedPost] = []
        skipped = 0
        for post in posts:
            if self.respect_opt_outs and post.author.opted_out:
                skipped += 1
                continue
            out.append(AnalysedPost(post, self.matcher.match(post)))
        if self.analyser is None or not out:
            return Processed(out, skipped)
        items = [(item.post, tuple(dict.fromkeys(m.brand for m in item.matches))) for item in out]
        # An analyser that can take a page at once (a configured transformers model classifies in batches) does.
        many = getattr(self.analyser, "analyse_many", None)
        analyses = many(items) if many is not None else [self.analyser.analyse(p, b) for p, b in items]
        return Processed(
            [AnalysedPost(item.post, item.matches, a) for item, a in zip(out, analyses, strict=True)], skipped
        )
