"""What Merkwacht concludes from a server's description, and what `check --servers` and `/status` say about it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from bot.cli.main import cli
from bot.sources.mastodon.instance import ServerRegistry, describe, parse_version, read_server_info
from tests.cli.test_cli import write_config
from tests.servers.conftest import ProfiledServer

CASSETTES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "mastodon" / "cassettes"


def _recorded(name: str) -> dict[str, Any]:
    import yaml

    path = CASSETTES / name
    if not path.is_file():
        pytest.skip(f"{path} is absent (the shared fixtures are not in this checkout)")
    cassette = yaml.safe_load(path.read_text())
    body: dict[str, Any] = json.loads(cassette["interactions"][0]["response"]["body"]["string"])
    return body


def _fetcher(answers: Mapping[str, Any]) -> Any:
    return lambda path: answers.get(path)


def test_a_real_mastodon_description_reads_as_mastodon_with_bulk_reads_and_public_hashtag_feeds() -> None:
    v2 = _recorded("test_instance.yaml")

    info = read_server_info("http://localhost:3000", _fetcher({"/api/v2/instance": v2}))

    assert (info.software, info.version, info.read_from) == ("mastodon", v2["version"], "/api/v2/instance")
    assert info.capabilities.bulk_status_reads and info.capabilities.streaming
    assert info.hashtag_feeds == {"local": "public", "remote": "public"} and info.feed_problem(False) is None


def test_hashtag_feeds_that_need_a_login_or_are_closed_are_said_plainly() -> None:
    v2 = _recorded("test_instance.yaml")
    v2["configuration"]["timelines_access"]["hashtag_feeds"] = {"local": "authenticated", "remote": "disabled"}

    info = read_server_info("https://example.test", _fetcher({"/api/v2/instance": v2}))

    without, with_token = describe(info, has_token=False), describe(info, has_token=True)
    assert any("need a login here: set token_env" in line and "remote posts are switched off" in line
               for line in without)
    assert not any("need a login" in line for line in with_token)
    assert any("remote posts are switched off" in line for line in with_token), "a token does not reopen them"


def test_mastodon_before_4_3_is_read_one_status_at_a_time_and_a_server_that_says_nothing_is_tried() -> None:
    old = read_server_info("https://old.test", _fetcher({"/api/v1/instance": {"version": "4.2.10"}}))
    silent = read_server_info("https://silent.test", _fetcher({}))

    assert old.software == "mastodon" and not old.capabilities.bulk_status_reads
    assert silent.error is not None and "could not tell" in describe(silent)[0]


def test_a_description_that_fails_tomorrow_keeps_todays_and_is_asked_again_later() -> None:
    now = [1_000_000.0]
    registry = ServerRegistry(clock=lambda: now[0])
    registry.ensure("https://a.test", _fetcher({"/api/v1/instance": {"version": "4.0.2"}}))
    registry.learn_no_bulk_reads("https://a.test", 404)

    def broken(path: str) -> Any:
        raise ConnectionError("refused")

    now[0] += 25 * 3600
    kept = registry.ensure("https://a.test", broken)

    assert kept.error is None and kept.version == "4.0.2" and kept.detected
    assert registry.ensure("https://a.test", broken) is kept, "not asked again at once"


@given(st.tuples(st.integers(0, 99), st.integers(0, 99), st.integers(0, 99)), st.text(max_size=12))
def test_a_version_is_read_from_any_decorated_version_string(version: tuple[int, int, int], suffix: str) -> None:
    text = f"{version[0]}.{version[1]}.{version[2]}" + ("+" + suffix if suffix else "")
    assert parse_version(text) == version


def test_check_servers_names_each_instances_software_and_what_it_lacks(
    server: ProfiledServer, tmp_path: Path
) -> None:
    config = write_config(tmp_path, server.url)

    result = CliRunner().invoke(cli, ["--config", str(config), "check", "--servers"], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    software = {"mastodon-4.5": "mastodon 4.5.0", "mastodon-4.0": "mastodon 4.0.2",
                "gotosocial": "gotosocial 0.17.0", "takahe": "takahe 0.11.0"}[server.profile]
    line = next(line for line in result.output.splitlines() if line.startswith(server.url))
    assert software in line
    assert ("one at a time" in line) is (server.profile != "mastodon-4.5")


def test_every_request_names_merkwacht_and_the_operators_contact(tmp_path: Path) -> None:
    import asyncio

    from bot.daemon.app import Application
    from tests.fediverse import running_instance
    from tests.ingest.helpers import make_config, poll_once
    from tests.servers.profiles import serving

    with running_instance() as mock, serving(mock.url, "mastodon-4.5") as shim:
        config = make_config(f"sqlite:///{tmp_path / 'm.db'}", [shim.url])
        contact = config.mastodon.model_copy(update={"contact": "ops@example.org"})
        app = Application(config.model_copy(update={"mastodon": contact}))
        poll_once(app)
        asyncio.run(app.describe_servers())
        app.close()

    assert shim.agents and all(a.startswith("Merkwacht/") and "ops@example.org" in a for a in shim.agents)
