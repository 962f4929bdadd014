"""`merkwacht status`: each watched source's last poll (from the database), and each instance's budgets and lag as
the running daemon reports them on its loopback `/metrics` (budgets live in the daemon, not in the database)."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections import defaultdict
from datetime import timedelta

import click
from prometheus_client.parser import text_string_to_metric_families

from bot.cli.context import Context
from bot.config import Config
from bot.config.durations import format_duration

BUDGET_METRICS = {
    "merkwacht_rate_limit_remaining": "left",
    "merkwacht_paging_requests_used": "paging",
    "merkwacht_polls_queued": "queued",
}


def daemon_budgets(metrics_text: str) -> list[str]:
    """Per instance, from the daemon's metrics: API requests left, paging requests used, queued polls, slowest lag."""
    values: dict[str, dict[str, float]] = defaultdict(dict)
    slowest: dict[str, tuple[float, str]] = {}
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            origin = sample.labels.get("origin")
            if origin is None:
                continue
            if sample.name in BUDGET_METRICS:
                values[origin][BUDGET_METRICS[sample.name]] = sample.value
            elif sample.name == "merkwacht_requests_sent":
                values[origin][f"sent_{sample.labels.get('kind', '')}"] = sample.value
            elif sample.name == "merkwacht_tags_grouped":
                values[origin]["grouped"] = sample.value
            elif sample.name == "merkwacht_poll_lag_seconds" and sample.value >= slowest.get(origin, (-1.0, ""))[0]:
                slowest[origin] = (sample.value, sample.labels.get("scope", ""))
    lines = []
    for origin in sorted(values.keys() | slowest.keys()):
        v = values[origin]
        line = f"- {origin}:"
        if "left" in v:
            line += f" API {v['left']:.0f} requests left in this window,"
        if "paging" in v:
            line += f" paging {v['paging']:.0f}/300 used in 15m,"
        if "sent_api" in v:
            line += f" {v['sent_api']:.0f} requests sent ({v.get('sent_paging', 0):.0f} paging),"
        if "grouped" in v:
            line += f" {v['grouped']:.0f} tags grouped with any[],"
        if origin in slowest:
            lag, scope = slowest[origin]
            late = format_duration(timedelta(seconds=round(lag)))
            line += f" slowest #{scope} {late} late at its last poll, {v.get('queued', 0):.0f} queued"
        lines.append(line.rstrip(","))
    return lines


def _metrics(config: Config) -> str | None:
    ops = config.ops
    if not ops.http_enabled:
        return None
    host = "127.0.0.1" if ops.http_host in ("0.0.0.0", "::") else ops.http_host
    try:
        with urllib.request.urlopen(f"http://{host}:{ops.http_port}/metrics", timeout=3) as answer:
            return bytes(answer.read()).decode()
    except (urllib.error.URLError, OSError):
        return None


@click.command()
@click.pass_obj
def status(ctx: Context) -> None:
    """Each watched source's last poll and errors, and each instance's budgets as the running daemon reports them."""
    from bot.watch.live import LiveWatchList
    from bot.watch.status import status_lines
    from storage.db import Database

    config = ctx.config
    db = Database(config.storage.url)
    try:
        for line in status_lines(db, LiveWatchList(db, config).current()):
            click.echo(line)
    finally:
        db.close()
    text = _metrics(config)
    if text is None:
        click.echo("Instance budgets: no daemon answered on the ops port (they live in the running daemon).")
        return
    lines = daemon_budgets(text)
    click.echo("Instance budgets (from the running daemon):" if lines else "Instance budgets: none reported yet.")
    for line in lines:
        click.echo(line)
