"""Storage on SQLite and PostgreSQL: migrations, uniqueness, and what a second sighting changes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, inspect, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError

from bot.model import AnalysedPost, Analysis, Author, BrandMatch, Engagement, Post
from storage.db import Database, alembic_config, upgrade
from storage.export import iter_export_rows
from storage.models import Base, MentionRow, PostRow, PostSourceRow, PostTagRow, UTCDateTime
from storage.posts import INSERT_TAGS, store_posts

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def make_post(uri: str = "https://a.example/s/1", *, origin: str = "https://a.example", remote_id: str = "1",
              text: str = "Acme", edited_at: datetime | None = None, favourites: int = 0,
              tags: tuple[str, ...] = ("koffie",)) -> AnalysedPost:
    post = Post(uri=uri, source="mastodon", origin=origin, remote_id=remote_id, url=uri, author=Author("a@a.example"),
                created_at=NOW, text=text, tags=tags, edited_at=edited_at, engagement=Engagement(favourites=favourites))
    return AnalysedPost(post, (BrandMatch("Acme", "term", "Acme"),) if "Acme" in text else ())


def count(db: Database, model: type) -> int:
    with db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_migrations_have_one_head_and_create_every_table(db: Database) -> None:
    heads = ScriptDirectory.from_config(alembic_config(db.engine)).get_heads()

    assert len(heads) == 1
    tables = set(inspect(db.engine).get_table_names())
    assert {"posts", "post_sources", "post_tags", "mentions", "poll_cursors", "source_health", "digests"} <= tables


def test_the_migrations_build_exactly_the_schema_the_models_describe(db: Database) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == [], "a model change without its migration (or the reverse)"


def test_migrating_twice_changes_nothing(db: Database) -> None:
    with db.transaction() as session:
        store_posts(session, [make_post()])

    upgrade(db.engine)

    assert count(db, PostRow) == 1


def test_storing_the_same_post_twice_keeps_one_row(db: Database) -> None:
    with db.transaction() as session:
        first = store_posts(session, [make_post(), make_post()])
    with db.transaction() as session:
        second = store_posts(session, [make_post()])

    assert (first.new, first.duplicate, second.new, second.duplicate) == (1, 1, 0, 1)
    assert (count(db, PostRow), count(db, MentionRow), count(db, PostTagRow), count(db, PostSourceRow)) == (1, 1, 1, 1)


def test_a_copy_from_another_instance_adds_its_id_and_the_highest_engagement(db: Database) -> None:
    with db.transaction() as session:
        store_posts(session, [make_post(favourites=3)])
    with db.transaction() as session:
        store_posts(session, [make_post(origin="https://b.example", remote_id="XYZ01", favourites=9)])
    with db.transaction() as session:
        store_posts(session, [make_post(origin="https://c.example", remote_id="77", favourites=1)])

    with db.sessions() as session:
        [row] = session.scalars(select(PostRow))
        origins = set(session.scalars(select(PostSourceRow.origin)))
    assert row.favourites == 9
    assert origins == {"https://a.example", "https://b.example", "https://c.example"}


def test_a_newer_edit_replaces_text_tags_and_mentions_and_an_older_one_does_not(db: Database) -> None:
    with db.transaction() as session:
        store_posts(session, [make_post(text="Acme is goed")])
    with db.transaction() as session:
        edited = store_posts(session, [make_post(text="Eigenlijk valt het tegen", edited_at=NOW + timedelta(hours=1),
                                                 tags=("thee",))])
    with db.transaction() as session:
        stale = store_posts(session, [make_post(text="Acme is goed")])

    with db.sessions() as session:
        [row] = session.scalars(select(PostRow))
        tags = list(session.scalars(select(PostTagRow.tag)))
    assert (edited.updated, stale.updated) == (1, 0)
    assert row.text == "Eigenlijk valt het tegen" and tags == ["thee"]
    assert count(db, MentionRow) == 0


def test_timestamps_come_back_in_utc(db: Database) -> None:
    with db.transaction() as session:
        store_posts(session, [make_post()])

    with db.sessions() as session:
        created = session.scalar(select(PostRow.created_at))
    assert created == NOW and created.tzinfo is not None


def test_a_large_batch_is_stored_in_one_go(db: Database) -> None:
    batch = [make_post(f"https://a.example/s/{i}", remote_id=str(i)) for i in range(1500)]

    with db.transaction() as session:
        result = store_posts(session, batch)

    assert result.new == 1500 and count(db, MentionRow) == 1500


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_db: Database) -> None:
    with sqlite_db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert int(conn.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0) >= 5000
        # checkpoints every 8,000 pages, not SQLite's 1,000: fewer page copies and fsyncs (bench/ingest.py)
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 8000


def test_a_naive_datetime_is_refused_rather_than_stored_ambiguously(db: Database) -> None:
    import pytest
    from sqlalchemy.exc import StatementError

    naive = make_post()
    naive = AnalysedPost(replace(naive.post, created_at=datetime(2026, 11, 20, 12, 0)), naive.matches)

    with pytest.raises(StatementError, match="naive datetime"), db.transaction() as session:
        store_posts(session, [naive])
    assert count(db, PostRow) == 0


def test_everything_stored_reads_back_as_it_was_written_in_any_time_zone(db: Database) -> None:
    amsterdam = timezone(timedelta(hours=1))
    item = make_post(text="Acme is te duur?")
    post = replace(item.post, created_at=datetime(2026, 3, 10, 9, 30, tzinfo=amsterdam), spoiler_text="prijs",
                   author=Author("a@a.example", display_name="Anna 🇳🇱", followers=42), sensitive=True)
    analysis = Analysis(language="nl", sentiment="negative", sentiment_score=-0.625, cx="question",
                        topics=("price", "service"), sentiment_confidence=0.71, cx_confidence=0.88)
    with db.transaction() as session:
        store_posts(session, [AnalysedPost(post, item.matches, analysis)])

    with db.sessions() as session:
        [row] = iter_export_rows(session)
    assert row["created_at"] == "2026-03-10T08:30:00+00:00"
    assert (row["author_name"], row["author_followers"]) == ("Anna 🇳🇱", 42)
    assert row["sentiment"] == {"label": "negative", "score": -0.625, "confidence": 0.71}
    assert row["cx_confidence"] == 0.88
    assert (row["cx"], row["topics"], row["brands"], row["tags"]) == ("question", ["price", "service"], ["Acme"],
                                                                      ["koffie"])


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=st.sampled_from(
    [UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-9, minutes=-30)), timezone(timedelta(0))])))
def test_sqlite_keeps_every_aware_datetime_as_the_text_of_its_utc_time(value: datetime) -> None:
    # UTC values take a shorter path to their text; they must come out exactly as any other zone's do.
    dialect = sqlite.dialect()  # type: ignore[no-untyped-call]
    process = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert process(value) == value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def test_a_row_the_database_refuses_raises_sqlalchemys_error_and_stores_nothing(db: Database) -> None:
    with pytest.raises(IntegrityError), db.transaction() as session:
        store_posts(session, [make_post(uri="https://a.example/s/ok", remote_id="ok")])
        INSERT_TAGS.execute(session, [{"post_id": 10**9, "tag": "orphan", "created_at": NOW}])

    assert count(db, PostRow) == 0, "the whole transaction rolled back"


def test_the_postgresql_password_is_read_from_the_file_PGPASSWORD_FILE_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from storage.db import StorageError, postgres_password_args

    secret = tmp_path / "pw"
    secret.write_text("from-a-docker-secret\n", encoding="utf-8")
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSWORD_FILE", str(secret))
    assert postgres_password_args() == {"password": "from-a-docker-secret"}

    monkeypatch.setenv("PGPASSWORD", "set-directly")
    assert postgres_password_args() == {}, "libpq reads PGPASSWORD itself, and it wins"

    monkeypatch.delenv("PGPASSWORD")
    monkeypatch.setenv("PGPASSWORD_FILE", str(tmp_path / "missing"))
    with pytest.raises(StorageError, match=r"cannot read the PostgreSQL password file .*missing"):
        postgres_password_args()


def test_a_post_skipped_again_at_the_next_poll_is_recorded_once(db: Database) -> None:
    # A page whose items have no usable id cannot move its cursor, so it is read and skipped again at every poll.
    from bot.model import SkippedPost, SourceKind, TimelineId
    from storage.skipped import record_skipped, skipped_posts

    timeline = TimelineId(SourceKind.MASTODON, "https://mastodon.example", "acme")
    odd = SkippedPost(timeline, "9" * 100, "https://mastodon.example/statuses/9", "id longer than 64 characters")
    elsewhere = TimelineId(SourceKind.MASTODON, "https://other.example", "acme")
    other_timeline = SkippedPost(elsewhere, odd.remote_id, odd.uri, odd.reason)
    with db.transaction() as session:
        assert record_skipped(session, [odd, odd]) == 1
    with db.transaction() as session:
        assert record_skipped(session, [odd, other_timeline]) == 1
        assert len(skipped_posts(session)) == 2
