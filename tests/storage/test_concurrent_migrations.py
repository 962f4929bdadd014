"""Two processes starting on one database at the same moment (two daemons, a daemon and a worker, a daemon and
`merkwacht db upgrade`) both migrate it: the second waits for the first and finds the schema at head."""

from __future__ import annotations

import multiprocessing
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from storage.db import Database, alembic_config, make_engine

PATIENCE = 60.0
"""Seconds to wait for a child process's step before the test fails as hung (never a measure of speed)."""

LOCKING = ("BEGIN IMMEDIATE", "SELECT pg_advisory_xact_lock")
"""How a migration asks for the database's write lock (SQLite, PostgreSQL): the second process's cue."""


def _migrate_pausing(url: str, paused: Any, go: Any, results: Any) -> None:
    """Migrate, stopping before the first CREATE TABLE until `go` is set: a daemon caught mid-migration."""
    from sqlalchemy import event

    from storage.db import upgrade

    engine = make_engine(url)

    def hold(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("CREATE TABLE") and not paused.is_set():
            paused.set()
            go.wait(PATIENCE)

    event.listen(engine, "before_cursor_execute", hold)
    try:
        upgrade(engine)
        results.put(("first", "ok"))
    except Exception as exc:
        results.put(("first", f"{type(exc).__name__}: {exc}"))
    finally:
        engine.dispose()


def _migrate(url: str, asking: Any, results: Any) -> None:
    """Open the database as the daemon does, migrating it; `asking` is set as it asks for the write lock."""
    from sqlalchemy import Engine, event

    def cue(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().startswith(LOCKING):
            asking.set()

    event.listen(Engine, "before_cursor_execute", cue)
    try:
        Database(url).close()
        results.put(("second", "ok"))
    except Exception as exc:
        results.put(("second", f"{type(exc).__name__}: {exc}"))


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting until {what}")
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.postgres
def test_two_processes_migrating_a_fresh_database_at_once_both_start_and_it_is_at_head_once(db_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    paused, go, asking, results = context.Event(), context.Event(), context.Event(), context.Queue()
    first = context.Process(target=_migrate_pausing, args=(db_url, paused, go, results))
    second = context.Process(target=_migrate, args=(db_url, asking, results))
    try:
        first.start()
        assert paused.wait(PATIENCE), "the first migration never reached its first CREATE TABLE"
        second.start()
        # Without a lock the second migrates the whole schema beside the paused first; with one it asks for the lock
        # the first holds, and the first goes on.
        _until(lambda: asking.is_set() or not second.is_alive(), "the second migration asks for the lock, or is done")
        go.set()
        outcomes = dict(results.get(timeout=PATIENCE) for _ in range(2))

        assert outcomes == {"first": "ok", "second": "ok"}
        engine = make_engine(db_url)
        head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
        with engine.connect() as conn:
            assert list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars()) == [head]
        assert {"posts", "poll_cursors", "skipped_posts", "budget_spends"} <= set(inspect(engine).get_table_names())
        engine.dispose()
    finally:
        go.set()
        for process in (first, second):
            process.join(PATIENCE)
            if process.is_alive():
                process.kill()


def test_opening_a_new_sqlite_file_while_another_process_holds_its_write_lock_waits_instead_of_failing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import storage.db

    path = tmp_path / "merkwacht.db"
    other = sqlite3.connect(path, isolation_level=None)  # another process, still in the file's first transaction
    other.execute("BEGIN IMMEDIATE")
    other.execute("CREATE TABLE its_own (x)")
    waits: list[float] = []

    def other_commits(seconds: float) -> None:
        # SQLite refuses the switch to WAL at once while the lock is held, whatever the busy timeout says; Merkwacht
        # waits and asks again, and meanwhile the other process finishes.
        waits.append(seconds)
        if other.in_transaction:
            other.execute("COMMIT")

    monkeypatch.setattr(storage.db, "sleep", other_commits)
    database = Database(f"sqlite:///{path}")
    try:
        with database.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar() == 1
        assert waits, "the lock was held when Merkwacht opened the file"
    finally:
        database.close()
        other.close()
