"""Fixtures for digest tests: Discord's own message schema, read from the shared fixtures at test time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.demo_servers.discord_fake import DEFAULT_OPENAPI, BodyValidator, load_message_schema

# Discord's full published description where the workspace has it (CI does), else the extract the package ships.
SHARED_OPENAPI = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "discord" / "openapi.json"
OPENAPI = SHARED_OPENAPI if SHARED_OPENAPI.is_file() else DEFAULT_OPENAPI


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
