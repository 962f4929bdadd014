"""The `server` fixture: a fresh mastodon-mock instance behind each server profile's shim (see `profiles.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.fediverse import Instance, running_instance
from tests.servers.profiles import PROFILES, ProfileShim, serving


@dataclass
class ProfiledServer:
    """A mock instance (write to it directly) and the shim Merkwacht reads it through."""

    profile: str
    mock: Instance
    shim: ProfileShim

    @property
    def url(self) -> str:
        """The URL Merkwacht is configured with."""
        return self.shim.url


@pytest.fixture(params=PROFILES)
def server(request: pytest.FixtureRequest) -> Iterator[ProfiledServer]:
    """The same test on Mastodon 4.5, Mastodon 4.0, a GoToSocial-like and a Takahē-like server."""
    with running_instance() as mock, serving(mock.url, request.param) as shim:
        yield ProfiledServer(request.param, mock, shim)
