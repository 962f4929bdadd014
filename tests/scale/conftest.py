"""One SQLite database per test module for the poll-loop property tests, emptied before each example."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text

from storage.db import Database

POLLED_TABLES = ("mentions", "post_tags", "post_sources", "posts", "poll_cursors", "source_health")
"""What a poll writes, children first; hypothesis reuses the module's database, so each example empties these."""


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """A migrated SQLite database shared by the module's tests (migrating once per example would dominate)."""
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('scale') / 'polls.db'}")
    yield db
    db.close()


def reset(db: Database) -> None:
    """Empty what a poll writes, so the next example starts from a timeline never read."""
    with db.engine.begin() as conn:
        for table in POLLED_TABLES:
            conn.execute(text(f"DELETE FROM {table}"))


def stored_uris(db: Database) -> list[str]:
    """The uris of every stored post."""
    with db.engine.connect() as conn:
        return [row.uri for row in conn.execute(text("SELECT uri FROM posts"))]
