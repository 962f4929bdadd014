"""The digest's queries read index ranges, never a whole table: checked with EXPLAIN on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event

from bot.digest.build import build_digest
from storage.db import Database
from tests.digest.seeding import post, store

AMS = ZoneInfo("Europe/Amsterdam")
TABLES = ("posts", "mentions", "post_tags")


def captured_statements(db: Database) -> list[tuple[str, Any]]:
    """Every statement the digest runs, with its parameters."""
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        with db.transaction() as session:
            build_digest(session, date(2026, 3, 10), zone=AMS, brands=["Acme", "Globex"], watched_tags=["coffee"])
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    return seen


def full_scans(db: Database, statement: str, parameters: Any) -> list[str]:
    with db.engine.connect() as conn:
        if db.dialect == "sqlite":
            plan = [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]
            # "SCAN posts" (or "SCAN posts USING COVERING INDEX ...") reads every row; "SEARCH" reads a range.
            return [p for p in plan if re.match(rf"SCAN ({'|'.join(TABLES)})\b", p)]
        # With sequential scans priced out, PostgreSQL still picks one only where no index can serve.
        conn.exec_driver_sql("SET enable_seqscan = off")
        plan = [row[0] for row in conn.exec_driver_sql(f"EXPLAIN {statement}", parameters)]
        return [p for p in plan if re.search(rf"Seq Scan on ({'|'.join(TABLES)})\b", p)]


def test_no_digest_query_scans_a_whole_table(db: Database) -> None:
    base = datetime(2026, 3, 1, tzinfo=UTC)
    store(db, [post(base + timedelta(hours=7 * i), brands=["Acme"] if i % 3 else [], tags=["coffee"],
                    cx="complaint", reactions=(1, 0, 0)) for i in range(60)])
    statements = captured_statements(db)
    assert len(statements) >= 7
    for statement, parameters in statements:
        assert full_scans(db, statement, parameters) == [], statement
