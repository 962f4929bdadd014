"""`merkwacht digest`: a dry run prints the exact bodies Discord would get; sending without a token says why not."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from click.testing import CliRunner

from bot.cli.main import cli
from bot.demo.discord_fake import BodyValidator
from storage.db import Database
from tests.digest.seeding import post, store


def write_config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'''
timezone = "Europe/Amsterdam"
[storage]
url = "sqlite:///{tmp_path / 'm.db'}"
[discord]
token_env = "MERKWACHT_TEST_NO_SUCH_TOKEN"
digest_channel = 123456789012345678
[[brands]]
name = "Acme"
terms = ["acme"]
''', encoding="utf-8")
    return path


def test_dry_run_json_prints_one_valid_body_per_message(tmp_path: Path, discord_rules: BodyValidator) -> None:
    config = write_config(tmp_path)
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    store(db, [post(datetime(2026, 3, 10, 9, tzinfo=ZoneInfo("Europe/Amsterdam")), "@everyone acme is late",
                    brands=["Acme"], cx="complaint")])
    db.close()
    chart = tmp_path / "chart.png"
    result = CliRunner().invoke(cli, ["--config", str(config), "digest", "--date", "2026-03-10", "--dry-run",
                                      "--json", "--chart", str(chart)])
    assert result.exit_code == 0, result.output
    bodies = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert len(bodies) == 1 and discord_rules.problems(bodies[0]) == []
    assert bodies[0]["enforce_nonce"] is True and bodies[0]["allowed_mentions"] == {"parse": []}
    assert chart.read_bytes().startswith(b"\x89PNG")


def test_sending_without_a_token_explains_what_is_missing(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(write_config(tmp_path)), "digest", "--date", "2026-03-10"])
    assert result.exit_code != 0
    assert "no Discord token in MERKWACHT_TEST_NO_SUCH_TOKEN" in result.output and "--dry-run" in result.output
