"""A post the analysis cannot handle is stored without analysis, and the failure is never silent."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from bot.daemon.app import Application
from bot.model import Analysis, Author, Post, SourceKind
from tests.ingest.helpers import make_config


class BrokenModel:
    """An analyser that fails on every post, as a corrupt model file or a library bug would."""

    def analyse(self, post: Post, brands: Sequence[str] = ()) -> Analysis:
        raise ValueError("weights have the wrong shape")


def posts(n: int) -> list[Post]:
    return [
        Post(uri=f"https://x.example/{i}", source=SourceKind.MASTODON, origin="https://x.example", remote_id=str(i),
             url="", author=Author("a@x.example"), created_at=datetime.now(UTC), text="Acme is fine")
        for i in range(n)
    ]


def test_failing_analysis_keeps_the_posts_logs_once_and_counts_every_failure(caplog: pytest.LogCaptureFixture) -> None:
    app = Application(make_config("sqlite://", []), analyser=BrokenModel())
    with caplog.at_level(logging.DEBUG):
        processed = app.pipeline.process(posts(3))

    assert [p.analysis for p in processed.posts] == [None, None, None]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "analysis failed" in r.getMessage()]
    assert len(warnings) == 1 and "weights have the wrong shape" in warnings[0].getMessage()
    assert 'merkwacht_stage_failures_total{error="ValueError",stage="analysis"} 3.0' in app.metrics.render().decode()
    app.close()


def test_a_failure_inside_the_shipped_analyser_is_counted_too(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    app = Application(make_config("sqlite://", []))
    analyser = app.pipeline.analyser

    def broken(*args: object) -> Analysis:
        raise RuntimeError("lexicon file truncated")

    monkeypatch.setattr(analyser, "_analyse", broken)
    with caplog.at_level(logging.WARNING):
        processed = app.pipeline.process(posts(2))

    # The analyser answers for every post (neutral, other) and says once why.
    assert [p.analysis.sentiment if p.analysis else None for p in processed.posts] == ["neutral", "neutral"]
    assert sum("lexicon file truncated" in r.getMessage() for r in caplog.records) == 1
    assert 'merkwacht_stage_failures_total{error="RuntimeError",stage="analysis"} 2.0' in app.metrics.render().decode()
    app.close()
