"""`merkwacht status`: the sources from the database, the budgets from the running daemon's metrics."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from bot.cli.main import cli
from bot.cli.status import daemon_budgets
from bot.ops.metrics import Metrics


def test_the_budgets_of_each_instance_are_read_from_the_daemons_metrics() -> None:
    metrics = Metrics()
    metrics.rate_limit_remaining.labels("https://a.example").set(212)
    metrics.paging_used.labels("https://a.example").set(41)
    metrics.polls_queued.labels("https://a.example").set(3)
    metrics.poll_lag.labels("https://a.example", "koffie").set(20)
    metrics.poll_lag.labels("https://a.example", "thee").set(95)
    metrics.requests_sent.labels("https://a.example", "api").set(1200)
    metrics.requests_sent.labels("https://a.example", "paging").set(80)
    metrics.tags_grouped.labels("https://a.example").set(45)
    metrics.rate_limit_remaining.labels("https://b.example").set(300)

    lines = daemon_budgets(metrics.render().decode())

    assert lines == [
        "- https://a.example: API 212 requests left in this window, paging 41/300 used in 15m, 1200 requests sent "
        "(80 paging), 45 tags grouped with any[], slowest #thee 1m35s late at its last poll, 3 queued",
        "- https://b.example: API 300 requests left in this window",
    ]


def test_without_a_running_daemon_status_still_lists_the_sources_and_says_where_budgets_live(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\nurl = "sqlite:///{tmp_path / "m.db"}"\n[ops]\nhttp_port = 1\n'
        '[mastodon]\nhashtags = ["koffie"]\n[[mastodon.instances]]\nurl = "https://a.example"\n'
    )

    result = CliRunner().invoke(cli, ["--config", str(config), "status"])

    assert result.exit_code == 0, result.output
    assert "#koffie on https://a.example: not polled yet" in result.output
    assert "no daemon answered on the ops port" in result.output
