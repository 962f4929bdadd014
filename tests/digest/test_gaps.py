"""A source that was down is named in the digest, so a dip in the numbers is never silent."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.digest.build import build_digest
from bot.digest.render import render
from storage.db import Database
from storage.models import SourceHealthRow, SourceOutageRow

DAY = date(2026, 3, 10)
ZONE = ZoneInfo("Europe/Amsterdam")


def local(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE).astimezone(UTC)


def test_an_outage_during_the_day_is_named_with_its_length(db: Database) -> None:
    with db.transaction() as session:
        session.add(
            SourceOutageRow(
                source="mastodon",
                origin="https://mastodon.social",
                scope="acme",
                started_at=local(9, 10),
                ended_at=local(12, 30),
                errors=40,
                last_error="503",
            )
        )
        session.add(
            SourceOutageRow(
                source="mastodon",
                origin="https://mastodon.social",
                scope="koffie",
                started_at=local(14, 0),
                ended_at=local(14, 5),
                errors=1,
                last_error="blip",
            )
        )
        session.add(
            SourceOutageRow(
                source="mastodon",
                origin="https://old.example",
                scope="acme",
                started_at=local(9, day=DAY - timedelta(days=3)),
                ended_at=local(10, day=DAY - timedelta(days=3)),
                errors=9,
                last_error="old",
            )
        )

    with db.transaction() as session:
        digest = build_digest(session, DAY, zone=ZONE, brands=["Acme"])
    [message] = render(digest, with_chart=False).payloads
    text = message["content"]

    assert [g.name for g in digest.gaps] == ["mastodon.social #acme"], "a five-minute blip and last week are left out"
    # `\\#` is Markdown-escaped text: Discord shows it as a plain `#`.
    assert "mastodon.social \\#acme: 3 h 20 min (from 09:10, until 12:30; 40 failed polls)" in text
    assert "may be a gap, not silence" in text, "a day with no posts but a dead source is not called quiet"


def test_a_source_still_down_says_so(db: Database) -> None:
    with db.transaction() as session:
        session.add(
            SourceHealthRow(
                source="discord",
                origin="discord",
                scope="1234",
                consecutive_errors=7,
                total_errors=7,
                total_polls=9,
                posts_new=0,
                posts_skipped=0,
                failing_since=local(20, 0),
                last_error="403 Missing Access",
            )
        )

    with db.transaction() as session:
        digest = build_digest(session, DAY, zone=ZONE, brands=["Acme"])

    [gap] = digest.gaps
    assert gap.name == "Discord channel 1234" and gap.ended_at is None
    shown = str(render(digest, with_chart=False).payloads)
    assert "<#1234>: " in shown and "still down" in shown, "Discord shows the channel by its current name"
