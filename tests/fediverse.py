"""A local fediverse for tests: mastodon-mock servers on 127.0.0.1, plus what real Mastodon does and it lacks.

Extensions of mastodon-mock, each because real servers behave that way and the mock cannot be told to:
- `backdate`: statuses written in the past (the mock stamps every new status with the present), for backfill windows;
- `federate`: the same status on two instances under one `uri` (the mock has no federation; each server mints its
  own uris), by giving the second copy the first one's uri;
- `set_noindex`: accounts with `noindex: true` (the mock always serialises `noindex: null`);
- `indexable`: the mock creates every account with `indexable: false` and has no way to change it through the API;
  every account on an `Instance` is made `indexable: true` (opted in to search, which Merkwacht requires since
  issue #12), and `set_indexable` flips one back, as a user unticking the setting does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest
from mastodon_mock.config import SeedAccount, SeedConfig
from mastodon_mock.db.models import Account, Status
from mastodon_mock.testing.server import MockServer

USERS = ("alice", "bob", "carol", "dave", "erin")


def _seed(domain_users: tuple[str, ...] = USERS) -> SeedConfig:
    return SeedConfig(
        accounts=[SeedAccount(username=u, display_name=u.title(), access_token=f"{u}_token") for u in domain_users]
    )


class Instance:
    """One running mock instance, with helpers to write what a test needs onto it."""

    def __init__(self, server: MockServer) -> None:
        self.server = server
        self.url = server.base_url
        self._clients: dict[str, Any] = {}
        self.noindex: set[str] = set()
        with self._db() as session:
            for account in session.query(Account):
                account.indexable = True
            session.commit()

    def client(self, user: str = "alice") -> Any:
        """A logged-in Mastodon.py client for a seeded user."""
        if user not in self._clients:
            self._clients[user] = self.server.client(token=f"{user}_token")
        return self._clients[user]

    def post(self, text: str, *, user: str = "alice", language: str | None = None, when: datetime | None = None) -> Any:
        """Write a public status (optionally back-dated); returns it as the API answered."""
        status = self.client(user).status_post(text, language=language)
        if when is not None:
            self.backdate(status["id"], when)
        return status

    def _db(self) -> Any:
        return self.server._server.config.app.state.session_factory()

    def backdate(self, status_id: Any, when: datetime) -> None:
        """Make a status look as if it was written at `when`."""
        with self._db() as session:
            status = session.get(Status, int(status_id))
            status.created_at = (
                when.replace(tzinfo=None) if when.tzinfo is None else when.astimezone().replace(tzinfo=None)
            )
            session.commit()

    def federate(self, status_id: Any, uri: str) -> None:
        """Give a status another instance's uri, as a federated copy of that post has."""
        with self._db() as session:
            status = session.get(Status, int(status_id))
            status.url = uri
            session.commit()

    def set_indexable(self, user: str, indexable: bool) -> None:
        """Set an account's `indexable` (Mastodon 4.2+: whether its public posts may be indexed)."""
        with self._db() as session:
            account = session.query(Account).filter_by(username=user).one()
            account.indexable = indexable
            session.commit()

    def set_note(self, user: str, note: str) -> None:
        """Set an account's bio."""
        with self._db() as session:
            account = session.query(Account).filter_by(username=user).one()
            account.note = note
            session.commit()


@contextmanager
def running_instance() -> Iterator[Instance]:
    """A fresh mock instance for the duration of the block."""
    with MockServer(seed=_seed()) as server:
        yield Instance(server)


@pytest.fixture
def noindex_accounts(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Usernames whose accounts every mock instance serialises with `noindex: true`."""
    import mastodon_mock.serializers.statuses as statuses

    users: set[str] = set()
    original = statuses.serialize_account

    def serialize(*args: Any, **kwargs: Any) -> dict[str, Any]:
        data: dict[str, Any] = original(*args, **kwargs)
        if data.get("username") in users:
            data["noindex"] = True
        return data

    monkeypatch.setattr(statuses, "serialize_account", serialize)
    return users
