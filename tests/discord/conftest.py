"""Fixtures for Discord tests: the client simcord runs (the message schema fixtures live in tests/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.discord.connection import new_client


@pytest.fixture
def simcord_bot() -> Any:
    """The client Merkwacht uses in production, for simcord's `simcord_env` fixture."""
    return new_client()
