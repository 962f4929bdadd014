"""A `Digest` to Discord message payloads: the JSON bodies POSTed to `/channels/{id}/messages`, within every limit.

Post text, author names, hashtags and brand names are untrusted: newlines are folded, Markdown is escaped and
`@` cannot form a mention; `allowed_mentions` is empty on every message besides. Links appear as plain URLs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.digest import chunk
from bot.digest.model import BrandDigest, Digest, SourceGap
from bot.model import PostSummary, SourceKind

NO_MENTIONS: dict[str, Any] = {"parse": []}
"""`allowed_mentions` that let nothing ping: no users, roles, @everyone or @here."""

EXCERPT = 180
"""Characters of a post's text shown in the digest, before escaping."""

_MARKDOWN = re.compile(r"([\\*_~`|<>\[\]()#:\-@!])")
_WHITESPACE = re.compile(r"\s+")
_MASS_MENTION = re.compile(r"@(everyone|here)", re.IGNORECASE)
_SAFE_URL = re.compile(r"https?://[A-Za-z0-9.\-]+(:\d+)?(/[A-Za-z0-9._~!$&'+,;=:@%/?#\-]*)?")
# Direction overrides and isolates (and the invisible marks around them) can make a line read backwards
# (`txt.exe` shown as `exe.txt`); lone surrogates cannot even be encoded for Discord.
_BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# Zalgo text stacks dozens of combining marks on one letter; two per letter is all any real script needs here.
_MARK_PILE = re.compile("([\u0300-\u036f\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]{2})"
                        "[\u0300-\u036f\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")
_COLOURS = {"overview": 0x5865F2, "brand": 0x2B8A3E, "quiet": 0x868E96}


def escape(text: str) -> str:
    """Untrusted text made inert on one line: whitespace folded, Markdown escaped, no mention can form.

    Also stripped: direction overrides, lone surrogates (shown as U+FFFD) and piles of combining marks.
    """
    text = _MARK_PILE.sub(r"\1", _LONE_SURROGATE.sub("\ufffd", _BIDI_CONTROLS.sub("", text)))
    flat = _WHITESPACE.sub(" ", text).strip()
    escaped = _MARKDOWN.sub(r"\\\1", flat)
    # Belt and braces with `allowed_mentions`: a zero-width space keeps @everyone from even looking like one.
    return _MASS_MENTION.sub("@\u200b\\1", escaped)


def excerpt(text: str, limit: int = EXCERPT) -> str:
    """The start of untrusted `text`, cut at a word with an ellipsis, then escaped."""
    return escape(chunk.shorten(_WHITESPACE.sub(" ", text).strip(), limit))


def plain_url(url: str) -> str | None:
    """`url` if it is a plain http(s) URL Discord will show as itself, else None (never a masked link)."""
    return url if len(url) <= 512 and _SAFE_URL.fullmatch(url) else None


def _signed(delta: float, fmt: str = "{:+.0f}") -> str:
    return ("▲ " if delta > 0 else "▼ " if delta < 0 else "= ") + fmt.format(delta)


def trend(brand: BrandDigest) -> str:
    """`12 mentions · ▲ +4 vs the day before (8) · ▲ +50% vs the 7-day average (8.0)`."""
    parts = [f"**{brand.mentions} mention{'s' if brand.mentions != 1 else ''}**"]
    parts.append(f"{_signed(brand.mentions - brand.previous_day)} vs the day before ({brand.previous_day})")
    if brand.average_7d > 0:
        pct = (brand.mentions - brand.average_7d) / brand.average_7d * 100
        parts.append(f"{_signed(pct, '{:+.0f}%')} vs the 7-day average ({brand.average_7d:.1f})")
    else:
        parts.append("no mentions in the 7 days before")
    return " · ".join(parts)


def sentiment_line(brand: BrandDigest) -> str:
    """`Sentiment: 5 positive · 4 neutral · 2 negative` (and unlabelled posts when there are any)."""
    s = brand.sentiment
    line = (f"Sentiment: {s.get('positive', 0)} positive · {s.get('neutral', 0)} neutral · "
            f"{s.get('negative', 0)} negative")
    if s.get("unknown"):
        line += f" · {s['unknown']} not analysed"
    return line


_DISCORD_ORIGIN = re.compile(r"discord:\d+/(\d+)")


def channel_mention(channel_id: str) -> str | None:
    """`<#id>`, which Discord shows as the channel's current name (a link for those who can see it)."""
    return f"<#{channel_id}>" if channel_id.isascii() and channel_id.isdigit() else None


def _origin_channel(origin: str) -> str | None:
    found = _DISCORD_ORIGIN.fullmatch(origin)
    return channel_mention(found[1]) if found else None


def _where(post: PostSummary) -> str:
    if post.source == "discord":
        return _origin_channel(post.origin) or "Discord"
    host = re.sub(r"^https?://", "", post.origin).split("/")[0]
    return escape(host)


def post_lines(post: PostSummary, *, zone_label: str, kind: str | None = None, score: bool = False) -> list[str]:
    """A post as one entry of two lines: what and who with an excerpt, then its link as a plain URL."""
    when = post.created_at.astimezone(ZoneInfo(zone_label)).strftime("%H:%M")
    who = escape(chunk.shorten(post.author, 64)) or "someone"
    label = f"{kind} · " if kind else ""
    body = f"CW: {excerpt(post.spoiler_text, 80)}" if post.spoiler_text else excerpt(post.text)
    line = f"• {when} · {label}**{who}** ({_where(post)}): {body or '(no text)'}"
    if score:
        counts = ", ".join(_plural(n, word) for n, word in
                           ((post.boosts, "boost"), (post.favourites, "favourite"), (post.replies, "reply")))
        line += f" — {_plural(post.engagement, 'reaction')} ({counts})"
        # "for 0 followers" reads as an error: an account without followers (or a Discord user) shows none.
        line += f" for {_plural(post.followers, 'follower')}" if post.followers else ""
    url = plain_url(post.url) or plain_url(post.uri)
    # One unit for the packer, so a message split never separates a post from its link.
    return [f"{line}\n  {url}"] if url else [line]


def _plural(count: int, word: str) -> str:
    if count == 1:
        return f"1 {word}"
    return f"{count} {word[:-1] + 'ies' if word.endswith('y') else word + 's'}"


def brand_lines(brand: BrandDigest, zone: str) -> list[str]:
    """Everything about one brand, as lines that can be split between any two of them."""
    lines = [trend(brand), sentiment_line(brand)]
    if brand.mentions == 0:
        return lines
    lines += ["", f"**Needs an answer ({brand.needs_answer_total})**"]
    if not brand.needs_answer:
        lines.append("Nothing: no complaints or questions.")
    for post in brand.needs_answer:
        lines += post_lines(post, zone_label=zone, kind=post.cx)
    if brand.needs_answer_total > len(brand.needs_answer):
        lines.append(f"… and {brand.needs_answer_total - len(brand.needs_answer)} more (see `merkwacht export`).")
    lines += ["", "**Top posts by engagement** (reactions per follower)"]
    if not brand.top_posts:
        lines.append("No reactions yet.")
    for post in brand.top_posts:
        lines += post_lines(post, zone_label=zone, score=True)
    return lines


def _ranking(items: Sequence[tuple[str, int]], label: Callable[[str], str]) -> str:
    text = "\n".join(f"{i}. {label(name)} — {n}" for i, (name, n) in enumerate(items, 1))
    return chunk.shorten(text, chunk.FIELD_VALUE) if text else "—"


def _hashtag(tag: str) -> str:
    return "#" + escape(tag)


def source_label(origin: str) -> str:
    """An origin in Markdown: the instance's host, or the Discord channel by its name (`<#id>`)."""
    return _origin_channel(origin) or escape(re.sub(r"^https?://", "", origin))


def gap_label(gap: SourceGap) -> str:
    """Which source was down, in Markdown: `mastodon.social #acme`, or the Discord channel by its name."""
    if gap.timeline.source is SourceKind.DISCORD:
        return channel_mention(gap.timeline.feed) or escape(gap.name)
    return escape(gap.name)


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def gap_lines(digest: Digest) -> str:
    """One line per source that was down: for how long, from when, and whether it still is."""
    zone = ZoneInfo(digest.timezone)
    now = datetime.now(UTC)
    lines = []
    for gap in digest.gaps:
        since = gap.started_at.astimezone(zone)
        when = f"{since:%H:%M}" if since.date() == digest.day else f"{since:%d %b %H:%M}"
        state = f"until {gap.ended_at.astimezone(zone):%H:%M}" if gap.ended_at else "still down"
        lines.append(f"• {gap_label(gap)}: {_span((gap.ended_at or now) - gap.started_at)} "
                     f"(from {when}, {state}; {gap.failed_polls} failed polls)")
    return chunk.shorten("\n".join(lines), chunk.FIELD_VALUE)


def day_title(digest: Digest) -> str:
    """`Monday 30 March 2026`."""
    return f"{digest.day:%A} {digest.day.day} {digest.day:%B %Y}"


@dataclass(frozen=True, slots=True)
class Rendered:
    """The payloads of one digest, in sending order, and which of them carries the chart."""

    payloads: list[dict[str, Any]]
    chart_filename: str | None


def chart_filename(digest: Digest) -> str:
    """The chart attachment's file name."""
    return f"merkwacht-{digest.day.isoformat()}.png"


def render(digest: Digest, *, with_chart: bool = True) -> Rendered:
    """Discord message payloads for `digest`: split at clean boundaries, every limit kept, nobody pinged."""
    header = f"**Merkwacht daily digest · {day_title(digest)}** ({escape(digest.timezone)})"
    filename = chart_filename(digest) if with_chart else None
    if digest.is_empty:
        names = ", ".join(escape(b.brand) for b in digest.brands) or "any brand"
        quiet = f"{header}: a quiet day, no posts were collected and nothing mentioned {names}."
        if digest.gaps:
            quiet += "\nBut some sources were down, so this may be a gap, not silence:\n" + gap_lines(digest)
        content = chunk.shorten(quiet, chunk.CONTENT)
        return Rendered([_message(content, [], filename)], filename)

    mentions = sum(b.mentions for b in digest.brands)
    branded = digest.total_posts - digest.unbranded_posts
    # Posts and mentions are different counts: a post naming two brands is one post and a mention of each.
    summary = (f"{digest.total_posts} posts collected: {branded} mention a brand, {digest.unbranded_posts} "
               f"without a brand. {mentions} brand mentions in all (a post naming several brands counts for each).")
    overview: dict[str, Any] = {
        "title": "Overview",
        "color": _COLOURS["overview"],
        "fields": [
            {"name": "Busiest hashtags", "value": _ranking(digest.hashtags, _hashtag), "inline": True},
            {"name": "Busiest sources", "value": _ranking(digest.sources, source_label),
             "inline": True},
            {"name": "Watched hashtags without a brand", "value": _ranking(digest.unbranded_tags, _hashtag),
             "inline": False},
        ],
    }
    if digest.gaps:
        overview["fields"].append(
            {"name": "Sources that were down (their numbers may be low)", "value": gap_lines(digest), "inline": False}
        )
    if filename:
        overview["image"] = {"url": f"attachment://{filename}"}
        overview["footer"] = {"text": "Chart: mentions per brand over 14 days, by sentiment"}
    embeds = [overview]
    for brand in digest.brands:
        embeds += brand_embeds(brand, digest.timezone)

    messages: list[list[dict[str, Any]]] = [[]]
    size = 0
    for embed in embeds:
        esize = chunk.embed_size(embed)
        if messages[-1] and (len(messages[-1]) >= chunk.EMBEDS or size + esize > chunk.EMBED_TOTAL):
            messages.append([])
            size = 0
        messages[-1].append(embed)
        size += esize
    payloads = []
    for i, group in enumerate(messages):
        if i == 0:
            content = chunk.shorten(f"{header}\n{summary}", chunk.CONTENT)
        else:
            content = chunk.shorten(f"Merkwacht daily digest · {day_title(digest)} ({i + 1}/{len(messages)})",
                                    chunk.CONTENT)
        payloads.append(_message(content, group, filename if i == 0 else None))
    if len(messages) > 1:
        first = payloads[0]
        first["content"] = chunk.shorten(f"{first['content']} (1/{len(messages)})", chunk.CONTENT)
    return Rendered(payloads, filename)


def brand_embeds(brand: BrandDigest, zone: str) -> list[dict[str, Any]]:
    """One embed per brand, or several titled "continued" when its posts do not fit one description."""
    title = chunk.shorten(escape(brand.brand), chunk.TITLE - 20)
    # Leave room for the title within the 6000-character message budget, so any one embed fits a message.
    budget = min(chunk.DESCRIPTION, chunk.EMBED_TOTAL - chunk.TITLE)
    colour = _COLOURS["brand"] if brand.mentions else _COLOURS["quiet"]
    parts = chunk.pack(brand_lines(brand, zone), budget)
    return [
        {"title": title if i == 0 else f"{title} (continued)", "description": part, "color": colour}
        for i, part in enumerate(parts)
    ]


def _message(content: str, embeds: list[dict[str, Any]], filename: str | None) -> dict[str, Any]:
    payload: dict[str, Any] = {"content": content, "embeds": embeds, "allowed_mentions": dict(NO_MENTIONS)}
    if filename:
        payload["attachments"] = [{"id": "0", "filename": filename, "description": "Mentions per brand, 14 days"}]
    return payload


def with_nonce(payloads: Sequence[dict[str, Any]], nonce: str) -> list[dict[str, Any]]:
    """The payloads with Discord's idempotency key: `nonce` + index, enforced, so a resend returns the original."""
    return [{**p, "nonce": message_nonce(nonce, i), "enforce_nonce": True} for i, p in enumerate(payloads)]


def message_nonce(nonce: str, index: int) -> str:
    """The nonce of the `index`th message of a digest (Discord allows 25 characters)."""
    value = f"{nonce}.{index}"
    if len(value) > 25:
        raise ValueError(f"nonce {value!r} is longer than Discord's 25 characters")
    return value
