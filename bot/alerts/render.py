"""Alerts as Discord message bodies: one line saying what happened, the figures behind it, links to the posts.

Built from the digest's own helpers (`bot.digest.render` escaping and post lines, `bot.digest.chunk` limits), so an
alert obeys the same limits and pings no one, except the role configured for its kind.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.alerts.rules import Finding
from bot.digest import chunk
from bot.digest.render import NO_MENTIONS, escape, plain_url, post_lines
from bot.model import PostSummary
from storage.alert_queries import StoredPost
from storage.alerts import AlertState

COLOURS = {"needs_answer": 0xE8590C, "spike": 0xC92A2A, "sentiment": 0x862E9C, "summary": 0x868E96, "test": 0x1C7ED6}
TITLES = {"needs_answer": "Needs an answer now", "spike": "Volume spike", "sentiment": "Sentiment turn",
          "summary": "Held alerts", "test": "Test alert"}
TEST_MARK = "🧪 TEST ALERT (a sample, nothing happened)"


def summary_of(post: StoredPost) -> PostSummary:
    """A stored post in the form the digest's post lines take."""
    return PostSummary(uri=post.uri, url=post.url, source=post.source, origin=post.origin, author=post.author,
                       created_at=post.created_at, text=post.text, spoiler_text=post.spoiler_text,
                       sentiment=post.sentiment, cx=post.cx, replies=post.replies, boosts=post.boosts,
                       favourites=post.favourites, followers=post.followers)


def _n(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _p(value: float) -> str:
    return "< 1e-12" if value < 1e-12 else f"{value:.1e}"


def headline(finding: Finding, zone: ZoneInfo) -> str:
    """What happened, in one line of Markdown (untrusted names escaped)."""
    f, brand = finding.figures, f"**{escape(finding.brand)}**"
    if finding.kind == "needs_answer":
        post = finding.posts[0]
        who = escape(chunk.shorten(post.author, 64)) or "someone"
        why = []
        if "reach" in f["reasons"]:
            why.append(f"{_n(post.followers)} followers")
        if "engagement" in f["reasons"]:
            why.append(f"{_n(post.engagement)} reactions already")
        if not why:
            why.append("every complaint alerts for this brand")
        return f"{brand} needs an answer now: a {f['cx']} by **{who}** ({', '.join(why)})"
    if finding.kind == "spike":
        local = finding.at.astimezone(zone)
        return (f"{brand} volume spike: {f['count']} mentions in the last {_hours(f['window_hours'])}, "
                f"normally {f['expected']:.1f} on a {local:%A} at this hour")
    if finding.kind == "sentiment":
        return (f"{brand} sentiment turn: {f['negative']} of {f['labelled']} mentions negative in the last "
                f"{_hours(f['window_hours'])} ({f['share']:.0%}), normally {f['normal']:.0%}")
    return f"{brand}: {finding.kind}"


def _hours(value: float) -> str:
    return "hour" if value == 1 else f"{_n(value)} hours"


def figures_line(finding: Finding) -> str:
    """The numbers behind the alert."""
    f = finding.figures
    if finding.kind == "needs_answer":
        post = finding.posts[0]
        return (f"{post.cx}: {_n(post.followers)} followers · {post.replies} replies, {post.boosts} boosts, "
                f"{post.favourites} favourites")
    if finding.kind == "spike":
        ratio = f["count"] / f["expected"] if f["expected"] > 0 else float("inf")
        return (f"{f['count']} mentions vs {f['expected']:.1f} expected ({ratio:.1f}×) · "
                f"chance under the normal rhythm {_p(f['p'])}")
    if finding.kind == "sentiment":
        return (f"{f['negative']}/{f['labelled']} negative = {f['share']:.0%} vs {f['normal']:.0%} normal · "
                f"chance under the normal share {_p(f['p'])}")
    return ""


def _payload(kind: str, content: str, embed_lines: Sequence[str], role: int | None, zone: str) -> dict[str, Any]:
    if role is not None:
        content = f"<@&{role}> {content}"
        mentions: dict[str, Any] = {"parse": [], "roles": [str(role)]}
    else:
        mentions = dict(NO_MENTIONS)
    description = chunk.pack(embed_lines, chunk.DESCRIPTION)[0] if embed_lines else ""
    embed: dict[str, Any] = {"title": TITLES.get(kind, kind), "color": COLOURS.get(kind, 0x868E96),
                             "footer": {"text": f"Merkwacht alert · times in {zone}"}}
    if description:
        embed["description"] = description
    return {"content": chunk.shorten(content, chunk.CONTENT), "embeds": [embed], "allowed_mentions": mentions}


def render_finding(finding: Finding, zone: ZoneInfo, role: int | None = None, *, test: bool = False) -> dict[str, Any]:
    """The message for one alert; `role` is pinged (and only it) when given."""
    line = headline(finding, zone)
    if test:
        line = f"{TEST_MARK}: {line}"
    lines = [figures_line(finding)]
    for post in finding.posts[:5]:
        lines += post_lines(summary_of(post), zone_label=zone.key, kind=post.cx if finding.kind != "spike" else None)
    return _payload("test" if test else finding.kind, line, lines, role, zone.key)


def render_summary(brand: str, held: Sequence[AlertState], zone: ZoneInfo,
                   now: datetime | None = None) -> dict[str, Any]:
    """One message for the alerts held back for `brand`: how many, why, and each one's headline and links."""
    reasons = sorted({a.reason or "held" for a in held})
    first = min(a.created_at for a in held).astimezone(zone)
    when = (now or datetime.now(UTC)).astimezone(zone)
    since = f"{first:%H:%M}" if first.date() == when.date() else f"{first:%a %H:%M}"
    line = (f"**{escape(brand)}**: {len(held)} alert{'s' if len(held) != 1 else ''} held back since {since} "
            f"({', '.join(reasons)})")
    lines: list[str] = []
    for alert in held:
        lines.append(f"• {alert.created_at.astimezone(zone):%H:%M} · {alert.figures.get('headline', alert.kind)}")
        lines += [f"  {url}" for url in alert.figures.get("links", [])[:3]]
    return _payload("summary", line, lines, None, zone.key)


def links(finding: Finding) -> list[str]:
    """The plain URLs of the posts an alert is about (kept with it for summaries)."""
    out = []
    for post in finding.posts[:5]:
        url = plain_url(post.url) or plain_url(post.uri)
        if url:
            out.append(url)
    return out
