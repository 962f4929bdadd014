"""Retention keeps the digest's numbers while purging posts; `forget` erases a person; `export --author` shows them."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from click.testing import CliRunner
from sqlalchemy import inspect, text

from bot.cli.main import cli
from bot.digest.build import build_digest
from bot.model import SkippedPost, SourceKind, TimelineId
from storage.db import Database
from storage.retention import purge
from storage.skipped import record_skipped
from tests.digest.seeding import post, store

ZONE = ZoneInfo("Europe/Amsterdam")
TODAY = date(2026, 11, 30)
SENTIMENTS = ("positive", "neutral", "negative", None)


def _seed_120_days(db: Database) -> None:
    rng = random.Random(12)
    items = []
    for days_ago in range(120):
        day = TODAY - timedelta(days=days_ago)
        for _ in range(rng.randint(0, 6)):
            when = datetime(day.year, day.month, day.day, rng.randint(0, 23), rng.randint(0, 59), tzinfo=ZONE)
            brands = rng.choice([("Acme",), ("Bonen",), ("Acme", "Bonen"), ()])
            items.append(post(when.astimezone(UTC), brands=brands, sentiment=rng.choice(SENTIMENTS)))
    store(db, items)


def _charts(db: Database, days: list[date]) -> list[Any]:
    with db.sessions() as session:
        return [build_digest(session, d, zone=ZONE, brands=["Acme", "Bonen"]).series for d in days]


def test_retention_over_120_days_purges_old_posts_and_keeps_every_chart_and_comparison_the_same(
    db: Database
) -> None:
    _seed_120_days(db)
    # Charts ending in the purged range, across its edge, and after it; each covers 14 days.
    days = [TODAY - timedelta(days=100), TODAY - timedelta(days=85), TODAY - timedelta(days=60), TODAY]
    before = _charts(db, days)
    with db.sessions() as session:
        total = session.execute(text("SELECT count(*) FROM posts")).scalar_one()

    cutoff = datetime(2026, 9, 1, tzinfo=UTC)  # about 90 days back
    purged = purge(db, cutoff, batch=50)  # small batches: the purge commits several times

    with db.sessions() as session:
        left = session.execute(text("SELECT count(*) FROM posts")).scalar_one()
        oldest = session.execute(text("SELECT min(created_at) FROM posts")).scalar_one()
    assert purged.removed.posts > 50 and left == total - purged.removed.posts
    assert str(oldest) >= "2026-09-01", "nothing older than the retention is left"
    assert _charts(db, days) == before, "every day's per-brand, per-sentiment counts are the same after the purge"
    assert purge(db, cutoff).removed.posts == 0, "a second purge finds nothing more and adds no counts twice"
    assert _charts(db, days) == before


def _every_table_mentions(db: Database, needle: str) -> dict[str, int]:
    found = {}
    with db.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            if table == "alembic_version":
                continue
            rows = conn.execute(text(f'SELECT * FROM "{table}"')).all()
            hits = sum(1 for row in rows if needle in json.dumps([str(v) for v in row]).casefold())
            if hits:
                found[table] = hits
    return found


def _config(tmp_path: Path, db_url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'timezone = "Europe/Amsterdam"\n[storage]\nurl = "{db_url}"\n')
    return path


def test_forget_erases_everything_stored_from_a_person_across_sources_and_says_how_much(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    when = datetime(2026, 11, 29, 12, tzinfo=UTC)
    store(db, [
        post(when, "Acme is traag", brands=["Acme"], tags=["acme"], author="brandfan@localhost:8702"),
        post(when, "nog een", author="BrandFan@localhost:8702"),
        post(when, "via discord", origin="discord:1/2", author="404231111155638272"),
        post(when, "someone else", brands=["Acme"], author="other@example.social"),
    ])
    timeline = TimelineId(SourceKind.MASTODON, "http://localhost:8702", "koffie")
    with db.transaction() as session:
        record_skipped(session, [
            SkippedPost(timeline, "9", "http://localhost:8702/users/brandfan/statuses/9", "too long"),
            SkippedPost(timeline, "8", "http://localhost:8702/users/other/statuses/8", "too long"),
        ])
    config = _config(tmp_path, db_url)

    fedi = CliRunner().invoke(cli, ["--config", str(config), "forget", "@brandfan@localhost:8702"],
                              catch_exceptions=False)
    discord = CliRunner().invoke(cli, ["--config", str(config), "forget", "404231111155638272"], catch_exceptions=False)

    assert fedi.exit_code == 0 and "2 posts" in fedi.output, fedi.output
    assert discord.exit_code == 0 and "1 post" in discord.output, discord.output
    assert _every_table_mentions(db, "brandfan") == {}
    assert _every_table_mentions(db, "404231111155638272") == {}
    assert _every_table_mentions(db, "other@example.social") == {"posts": 1}, "nobody else is touched"
    assert _every_table_mentions(db, "/users/other/") == {"skipped_posts": 1}
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM post_sources")).scalar_one() == 1
        assert conn.execute(text("SELECT count(*) FROM mentions")).scalar_one() == 1


def test_export_author_shows_a_person_what_is_stored_about_them(db: Database, db_url: str, tmp_path: Path) -> None:
    when = datetime(2026, 11, 29, 12, tzinfo=UTC)
    store(db, [post(when, "mijn post", author="brandfan@localhost:8702", spoiler="CW: koffie"),
               post(when, "niet van mij", author="other@example.social")])
    config = _config(tmp_path, db_url)

    result = CliRunner().invoke(cli, ["--config", str(config), "export", "--author", "@BrandFan@localhost:8702"],
                                catch_exceptions=False)

    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["author"], r["text"], r["spoiler_text"]) for r in rows] == [
        ("brandfan@localhost:8702", "mijn post", "CW: koffie")
    ]


def test_forget_refuses_what_is_not_an_account_and_says_what_it_expected(tmp_path: Path) -> None:
    config = _config(tmp_path, f"sqlite:///{tmp_path / 'm.db'}")

    result = CliRunner().invoke(cli, ["--config", str(config), "forget", "alice"])

    assert result.exit_code == 2
    expected = "'alice' is neither a fediverse handle like '@someone@mastodon.social' nor a Discord user id"
    assert expected in result.output
