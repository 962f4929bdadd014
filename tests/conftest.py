"""Shared fixtures: a database on SQLite and on the real PostgreSQL server, and local Mastodon servers."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from bot.demo.discord_fake import DEFAULT_OPENAPI, BodyValidator, load_message_schema
from storage.db import Database
from tests.fediverse import noindex_accounts  # noqa: F401  (a fixture, shared by every test)

# Discord's full published description where the workspace has it (CI does), else the extract the package ships.
SHARED_OPENAPI = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "discord" / "openapi.json"
OPENAPI = SHARED_OPENAPI if SHARED_OPENAPI.is_file() else DEFAULT_OPENAPI

POSTGRES_URL = os.environ.get("MERKWACHT_TEST_POSTGRES", "postgresql+psycopg://root@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("MERKWACHT_REQUIRE_POSTGRES") == "1"
"""CI sets this so the PostgreSQL half of the storage tests can never be skipped silently."""


def _postgres_problem() -> str | None:
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return f"PostgreSQL at {POSTGRES_URL} is not reachable ({type(exc).__name__}: {exc})"
    return None


@pytest.fixture(scope="session")
def postgres_available() -> bool:
    """Whether the PostgreSQL tests can run; with MERKWACHT_REQUIRE_POSTGRES=1 an absent server is a failure."""
    problem = _postgres_problem()
    if problem and REQUIRE_POSTGRES:
        pytest.fail(f"{problem}, and MERKWACHT_REQUIRE_POSTGRES=1 says these tests must run")
    if problem:
        pytest.skip(f"{problem}; set MERKWACHT_TEST_POSTGRES to run the PostgreSQL half of the storage tests")
    return True


@pytest.fixture
def postgres_url(postgres_available: bool) -> Iterator[str]:
    """A URL to a fresh, empty schema on the PostgreSQL server, dropped after the test."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """The same test on a SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'merkwacht.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """A migrated database on each backend."""
    database = Database(db_url)
    yield database
    database.close()


@pytest.fixture
def sqlite_db(tmp_path: Any) -> Iterator[Database]:
    """A migrated SQLite database, for tests that are about something other than the backend."""
    database = Database(f"sqlite:///{tmp_path / 'merkwacht.db'}")
    yield database
    database.close()


class RequestCounter:
    """Counts the HTTP requests a Mastodon.py client sends, by path."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def hook(self, response: Any, *args: Any, **kwargs: Any) -> None:
        """A `requests` response hook."""
        from urllib.parse import urlsplit

        self.paths.append(urlsplit(response.request.url).path)

    def timeline_requests(self) -> int:
        """Requests to hashtag timelines (the instance-info request Mastodon.py caches is left out)."""
        return sum(1 for p in self.paths if p.startswith("/api/v1/timelines/tag/"))


@pytest.fixture
def request_counter() -> RequestCounter:
    """A fresh counter; pass `counting_client_factory(counter)` to Application."""
    return RequestCounter()


def counting_client_factory(counter: RequestCounter) -> Callable[[str, str | None, float], Any]:
    """A client factory whose clients report every response to `counter`."""
    from bot.sources.mastodon.timeline import make_client

    def factory(url: str, token: str | None, timeout: float) -> Any:
        client = make_client(url, token, timeout)
        client.session.hooks["response"].append(counter.hook)
        return client

    return factory


@pytest.fixture
def mastodon() -> Iterator[Any]:
    """A fresh local Mastodon instance (mastodon-mock) with users alice, bob, carol, dave and erin."""
    from tests.fediverse import running_instance

    with running_instance() as instance:
        yield instance


@pytest.fixture
def second_mastodon() -> Iterator[Any]:
    """Another, independent instance, for federation and multi-instance tests."""
    from tests.fediverse import running_instance

    with running_instance() as instance:
        yield instance


@pytest.fixture(scope="session")
def message_schema() -> dict[str, Any]:
    """`MessageCreateRequest` from Discord's published OpenAPI description."""
    schema = load_message_schema(OPENAPI)
    if schema is None:
        pytest.fail(f"Discord's OpenAPI description is missing at {OPENAPI}")
    return schema


@pytest.fixture(scope="session")
def discord_rules(message_schema: dict[str, Any]) -> BodyValidator:
    """Everything Discord checks on a message create body (schema and documented limits)."""
    return BodyValidator(message_schema)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests first, in their own order, then the rest in theirs.

    With `pytest -n auto` this is longest-first scheduling: the 3-minute kill test starts at once on one worker while
    the other works through the quick ones, instead of starting halfway and making everything wait for it at the end.
    Run alone, the order does not matter: no test depends on another.
    """
    items.sort(key=lambda item: (item.get_closest_marker("slow") is None, item.path.name != LONGEST_MODULE))


LONGEST_MODULE = "test_kill.py"
"""The module whose tests take longest (50 SIGKILLs of a real daemon, about 3 minutes): scheduled first of all."""
