"""What `/status` says: each watched source's last poll and errors, and how much has been collected."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import func, select

from bot.config.durations import format_duration
from bot.sources.mastodon.instance import ServerInfo, describe
from bot.watch.watchlist import EffectiveWatchList
from storage.db import Database
from storage.health import all_health
from storage.models import MentionRow, PostRow


def _ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "never"
    return f"{format_duration(max(now - when, now - now))} ago"


def status_lines(
    db: Database,
    watchlist: EffectiveWatchList,
    now: datetime | None = None,
    *,
    servers: Sequence[ServerInfo] = (),
    problems: Sequence[str] = (),
) -> list[str]:
    """One line per watched source (last poll, errors), then what each server runs and any refresh `problems`."""
    now = now or datetime.now(UTC)
    with db.sessions() as session:
        health = {h.timeline: h for h in all_health(session)}
        posts = session.scalar(select(func.count()).select_from(PostRow)) or 0
        mentions = session.scalar(select(func.count(func.distinct(MentionRow.post_id)))) or 0
    sources = watchlist.timeline_ids
    lines = [f"Watching {len(sources)} source(s); {posts} posts stored, {mentions} mention a brand."]
    for timeline in sources:
        mastodon = timeline.source == "mastodon"
        label = f"#{timeline.feed} on {timeline.server}" if mastodon else f"channel {timeline.feed}"
        row = health.get(timeline)
        if row is None:
            lines.append(f"- {label}: not polled yet")
            continue
        line = f"- {label}: last success {_ago(row.last_success_at, now)}, {row.posts_new} new posts"
        if row.consecutive_errors:
            line += f"; FAILING ({row.consecutive_errors} in a row, last: {(row.last_error or '')[:120]})"
        elif row.total_errors:
            line += f"; {row.total_errors} errors in total"
        lines.append(line)
    tokens = {i.url: bool(i.token()) for i in watchlist.config.mastodon.instances}
    for info in servers:
        lines += describe(info, tokens.get(info.url, False))
    return [*lines, *problems]
