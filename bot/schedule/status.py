"""What `/status` says about each Mastodon instance's budgets: requests left, paging used, tags grouped, lag."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta

from bot.config.durations import format_duration
from bot.schedule.runner import CoverageScheduler
from bot.sources.mastodon.ratelimit import RequestBudget


def budget_lines(
    budgets: Mapping[str, RequestBudget],
    coverage: CoverageScheduler | None,
    honours_any: Callable[[str], bool],
    now: float,
) -> list[str]:
    """One line per instance: both budgets, requests sent, tags grouped through `any[]`, the slowest tag's lag."""
    lags = {lag.origin: lag for lag in coverage.lags(now)} if coverage is not None else {}
    lines = []
    for origin in sorted(budgets):
        budget = budgets[origin]
        window = format_duration(timedelta(seconds=budget.window))
        line = (
            f"- {origin}: API {budget.remaining}/{budget.limit} left this {window}, "
            f"paging {budget.paging_used()}/{budget.paging.limit} used in 15m, {budget.used_total} requests sent"
            f" ({budget.paging.used_total} paging), {budget.throttled} refused (429)"
        )
        if coverage is not None:
            grouped = coverage.grouped(origin) if honours_any(origin) else 0
            line += f"; {grouped} tags grouped with any[]" if honours_any(origin) else "; any[] not used"
            lag = lags.get(origin)
            if lag is not None and lag.slowest is not None and lag.slowest_lag > 0:
                late = format_duration(timedelta(seconds=round(lag.slowest_lag)))
                line += f"; slowest #{lag.slowest.rsplit('#', 1)[-1]} {late} late, {lag.queued} queued"
            else:
                line += "; no poll late"
        lines.append(line)
    return ["Instance budgets:", *lines] if lines else []
