"""The `merkwacht` command as a user types it."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.cli.main import cli
from tests.ingest.helpers import BRANDS


def write_config(tmp_path: Path, instance_url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'timezone = "Europe/Amsterdam"\n[storage]\nurl = "sqlite:///{tmp_path / "m.db"}"\n'
        f'[mastodon]\nhashtags = ["koffie"]\n[[mastodon.instances]]\nurl = "{instance_url}"\n'
        f'token_env = "MERKWACHT_TEST_TOKEN"\n{BRANDS}'
    )
    return path


def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_poll_prints_a_line_per_timeline_and_export_writes_what_was_stored(tmp_path: Path, mastodon: Any) -> None:
    mastodon.post("Acme Coffee is heerlijk #koffie", language="nl")
    mastodon.post("Nothing to see #koffie", user="bob", language="en")
    config = write_config(tmp_path, mastodon.url)

    polled = invoke("--config", str(config), "poll")
    exported = invoke("--config", str(config), "export")

    assert polled.exit_code == 0, polled.output
    lines = polled.stdout.strip().splitlines()
    assert f"mastodon:{mastodon.url}#koffie: 2 new, 0 duplicate, 0 skipped, 0 errors" in lines
    assert len(lines) == 3  # koffie, acme, acmecoffee
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    assert [r["text"] for r in rows] == ["Acme Coffee is heerlijk #koffie", "Nothing to see #koffie"]
    first = rows[0]
    assert first["brands"] == ["Acme"] and first["tags"] == ["koffie"] and first["language"] == "nl"
    assert {"uri", "url", "source", "instance", "author", "created_at", "engagement", "sentiment", "cx"} <= set(first)
    assert (first["author"], first["author_name"]) == ("alice@mock.local", "Alice"), "who wrote it, as people see them"


def test_poll_can_be_limited_to_some_sources(tmp_path: Path, mastodon: Any) -> None:
    config = write_config(tmp_path, mastodon.url)

    polled = invoke("--config", str(config), "poll", "--source", "#koffie")

    assert polled.stdout.strip().splitlines() == [
        f"mastodon:{mastodon.url}#koffie: 0 new, 0 duplicate, 0 skipped, 0 errors"
    ]


def test_a_failing_source_is_reported_and_the_exit_code_says_so(tmp_path: Path, mastodon: Any) -> None:
    config = write_config(tmp_path, mastodon.url)

    with mastodon.server.fault(path_regex="^/api/v1/timelines/tag/koffie", status=502, body={"error": "bad gateway"}):
        polled = CliRunner().invoke(cli, ["--config", str(config), "poll"])

    assert polled.exit_code == 1
    assert "#koffie: 0 new, 0 duplicate, 0 skipped, 1 errors (server:" in polled.output
    assert polled.output.count("502") == 1, "the error is told once, by the command's own line"
    assert "next try" not in polled.output, "a one-shot command has no next try"


def test_export_as_csv_since_a_date(tmp_path: Path, mastodon: Any) -> None:
    mastodon.post("Acme #koffie")
    config = write_config(tmp_path, mastodon.url)
    invoke("--config", str(config), "poll")

    everything = invoke("--config", str(config), "export", "--format", "csv")
    nothing = invoke("--config", str(config), "export", "--format", "csv", "--since", "2999-01-01")

    rows = list(csv.DictReader(io.StringIO(everything.stdout)))
    assert [r["brands"] for r in rows] == ["Acme"]
    assert rows[0]["tags"] == "koffie" and rows[0]["author_name"] == "Alice"
    assert list(csv.DictReader(io.StringIO(nothing.stdout))) == []


def test_check_shows_what_is_watched_and_whether_the_token_is_set_but_never_its_value(
    tmp_path: Path, mastodon: Any
) -> None:
    config = write_config(tmp_path, mastodon.url)

    unset = invoke("--config", str(config), "check", env={"COLUMNS": "200"})
    with_token = invoke(
        "--config", str(config), "check", env={"MERKWACHT_TEST_TOKEN": "s3cr3t-value", "COLUMNS": "200"}
    )

    assert unset.exit_code == 0
    assert "#koffie #acme #acmecoffee" in unset.output
    assert "not set ($MERKWACHT_TEST_TOKEN or $MERKWACHT_TEST_TOKEN_FILE)" in unset.output
    assert "set" in with_token.output and "s3cr3t-value" not in with_token.output


def test_a_bad_config_is_explained_and_nothing_runs(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[schedule]\npoll_interval = "5 minutes"\n')

    result = CliRunner().invoke(cli, ["--config", str(config), "poll"])

    assert result.exit_code == 1
    assert "schedule.poll_interval (line 2): '5 minutes' is not a duration like 30s, 5m or 1h" in result.output


def test_the_config_path_can_come_from_the_environment(tmp_path: Path, mastodon: Any) -> None:
    config = write_config(tmp_path, mastodon.url)

    result = invoke("check", env={"MERKWACHT_CONFIG": str(config), "COLUMNS": "200"})

    assert result.exit_code == 0 and "valid" in result.output


@pytest.mark.slow
def test_the_demo_runs_end_to_end_without_any_account(tmp_path: Path) -> None:
    result = invoke("demo", "--output-dir", str(tmp_path / "out"), env={"COLUMNS": "200"})

    assert result.exit_code == 0, result.output
    assert "What Merkwacht stored" in result.output
    assert "Acme Coffee" in result.output and "FietsFix" in result.output
    assert "1 skipped (author opted out, or not storable)" in result.output
    assert "timelines: " in result.output and "Discord channel 234567890123456789" in result.output
    assert "cp config.example.toml config.toml" in result.output and "`merkwacht check`" in result.output
    assert "`merkwacht run`" in result.output
    assert (tmp_path / "out" / "demo.db").is_file()


def test_the_demo_without_its_extra_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import sys

    # As on a machine where `pip install merkwacht` ran without `[demo]`: mastodon-mock cannot be imported.
    for name in [m for m in sys.modules if m.split(".")[0] == "mastodon_mock"] + ["mastodon_mock"]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.delitem(sys.modules, "bot.demo.run", raising=False)
    result = CliRunner().invoke(cli, ["demo", "--output-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "pip install 'merkwacht[demo]'" in result.output
