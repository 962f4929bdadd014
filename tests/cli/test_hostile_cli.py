"""The `merkwacht` command used wrongly, or with hostile data: it refuses what would lose data, leaks nothing, and every
error is one or two lines saying what and where, never a traceback (unless asked for with --log-level DEBUG)."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text

from bot.cli.main import cli
from storage.db import Database
from storage.export import csv_safe


def today() -> date:
    """Today in the configs' time zone, read when a test runs: a date fixed at collection is yesterday for a test
    that runs after midnight in Amsterdam."""
    return datetime.now(ZoneInfo("Europe/Amsterdam")).date()


@pytest.fixture(autouse=True)
def _restore_logging() -> Any:
    # The CLI sets up the root logger; put it back so later tests' caplog sees what it expects.
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def config_file(tmp_path: Path, db: str | None = None, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    url = db or f"sqlite:///{tmp_path / 'm.db'}"
    path.write_text(f'timezone = "Europe/Amsterdam"\n[storage]\nurl = "{url}"\n'
                    f'[[brands]]\nname = "Acme"\nterms = ["Acme", "[x]"]\n{extra}')
    return path


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


def brief(result: Result) -> str:
    """The output, asserted to be a short error without a traceback."""
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert 1 <= len(lines) <= 4, result.output
    return result.output


def existing_db(tmp_path: Path) -> Path:
    Database(f"sqlite:///{tmp_path / 'm.db'}").close()
    return tmp_path / "m.db"


# --- refusing what would lose data ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (0, "is today and not over"),
        (1, "has not begun yet"),
        (date(9999, 12, 31), "has not begun yet"),
        (date(1, 1, 1), "is before 2000-01-01"),
    ],
)
def test_digest_refuses_a_day_that_is_not_over_or_out_of_range(tmp_path: Path, day: date | int, expected: str) -> None:
    existing_db(tmp_path)
    if isinstance(day, int):  # days from today
        day = today() + timedelta(days=day)
    result = run("--config", str(config_file(tmp_path)), "digest", "--date", day.isoformat())
    assert result.exit_code == 2
    assert expected in brief(result)


def test_todays_digest_can_be_looked_at_with_dry_run_and_sent_only_with_force_partial(tmp_path: Path) -> None:
    existing_db(tmp_path)
    config = str(config_file(tmp_path))
    day = f"{today():%Y-%m-%d}"
    looked = run("--config", config, "digest", "--date", day, "--dry-run")
    forced = run("--config", config, "digest", "--date", day, "--force-partial")
    assert looked.exit_code == 0, looked.output
    assert "is today" not in forced.output and "no Discord token" in brief(forced), "past the date guard"


@pytest.mark.parametrize("command", [("export",), ("digest", "--dry-run"), ("watch", "list"), ("watch", "history")])
def test_a_mistyped_storage_path_is_an_error_not_a_new_empty_database(tmp_path: Path, command: tuple[str, ...]) -> None:
    missing = tmp_path / "typo" / "m.db"
    result = run("--config", str(config_file(tmp_path, f"sqlite:///{missing}")), *command)
    assert result.exit_code == 1
    assert f"there is no database at {missing}" in brief(result)
    assert not missing.parent.exists(), "neither the file nor its folder was created"


def test_csv_export_neutralises_cells_a_spreadsheet_would_run_as_formulas(tmp_path: Path, mastodon: Any) -> None:
    mastodon.post('=HYPERLINK("https://evil.example","Acme refund") #koffie')
    mastodon.post("-1 for Acme #koffie", user="bob")
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\nurl = "sqlite:///{tmp_path / "m.db"}"\n[mastodon]\nhashtags = ["koffie"]\n'
                      f'[[mastodon.instances]]\nurl = "{mastodon.url}"\n[[brands]]\nname = "Acme"\nterms = ["Acme"]\n')
    assert run("--config", str(config), "poll").exit_code == 0
    exported = run("--config", str(config), "export", "--format", "csv")

    texts = sorted(r["text"] for r in csv.DictReader(io.StringIO(exported.stdout)))
    assert texts == ["'-1 for Acme #koffie", "'=HYPERLINK(\"https://evil.example\",\"Acme refund\") #koffie"]
    assert csv_safe(-0.5) == -0.5 and csv_safe("Acme") == "Acme" and csv_safe("@everyone") == "'@everyone"


# --- leaking nothing ------------------------------------------------------------------------------------------------


def test_check_shows_discord_and_text_with_brackets_and_never_a_token(tmp_path: Path) -> None:
    extra = '[discord]\ntoken_env = "MERKWACHT_HOSTILE_T"\ndigest_channel = 1300000000000000002\n'
    config = str(config_file(tmp_path, extra=extra))
    unset = run("--config", config, "check", env={"COLUMNS": "200", "MERKWACHT_HOSTILE_T": ""})
    with_token = run("--config", config, "check", env={"COLUMNS": "200", "MERKWACHT_HOSTILE_T": "tok-3x4mpl3"})

    assert unset.exit_code == 0, unset.output
    assert "Acme, [x]" in unset.output, "a term in brackets is shown, not taken for markup"
    assert "no [[mastodon.instances]]: nothing will be polled" in unset.output
    assert "not set ($MERKWACHT_HOSTILE_T or $MERKWACHT_HOSTILE_T_FILE)" in unset.output
    assert "1300000000000000002" in unset.output
    assert "set (from $MERKWACHT_HOSTILE_T" in with_token.output and "tok-3x4mpl3" not in with_token.output


# --- errors as one or two lines -------------------------------------------------------------------------------------


def test_a_corrupt_database_file_is_named_with_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "m.db").write_bytes(b"this is not SQLite" * 100)
    result = run("--config", str(config_file(tmp_path)), "export")
    assert result.exit_code == 1
    assert f"the SQLite database {tmp_path / 'm.db'} is not a usable SQLite database" in brief(result)


def test_a_database_from_a_newer_merkwacht_says_so(tmp_path: Path) -> None:
    path = existing_db(tmp_path)
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    engine.dispose()
    result = run("--config", str(config_file(tmp_path)), "export")
    assert result.exit_code == 1
    assert "was written by a newer Merkwacht than this one" in brief(result)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders, so there is nothing to refuse")
def test_a_database_in_a_read_only_folder_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        result = run("--config", str(config_file(tmp_path, f"sqlite:///{folder / 'm.db'}")), "poll")
    finally:
        folder.chmod(0o700)
    assert result.exit_code == 1
    assert str(folder / "m.db") in brief(result)


def test_a_bad_log_level_is_a_usage_error() -> None:
    result = run("--log-level", "BOGUS", "check")
    assert result.exit_code == 2
    assert "'BOGUS' is not one of" in brief(result)


def test_a_chart_path_in_a_missing_folder_is_refused_before_anything_is_built(tmp_path: Path) -> None:
    existing_db(tmp_path)
    result = run("--config", str(config_file(tmp_path)), "digest", "--dry-run", "--chart", "/nonexistent/c.png")
    assert result.exit_code == 2
    assert "the folder /nonexistent does not exist" in brief(result)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
def test_an_export_to_a_full_disk_says_so(tmp_path: Path, mastodon: Any) -> None:
    mastodon.post("Acme #koffie")
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\nurl = "sqlite:///{tmp_path / "m.db"}"\n[mastodon]\nhashtags = ["koffie"]\n'
                      f'[[mastodon.instances]]\nurl = "{mastodon.url}"\n')
    assert run("--config", str(config), "poll").exit_code == 0
    result = run("--config", str(config), "export", "-o", "/dev/full")
    assert result.exit_code == 1
    assert "No space left on device" in brief(result)


def test_export_since_the_year_one_exports_everything_and_a_date_past_the_calendar_is_explained(
    tmp_path: Path,
) -> None:
    existing_db(tmp_path)
    config = str(config_file(tmp_path))
    assert run("--config", config, "export", "--since", "0001-01-01").exit_code == 0
    far = run("--config", config, "export", "--since", "9999-12-31")
    assert far.exit_code in (0, 2)
    if far.exit_code == 2:
        assert "out of range" in brief(far)


def test_under_json_logs_an_error_is_a_json_record(tmp_path: Path) -> None:
    (tmp_path / "m.db").write_bytes(b"garbage" * 100)
    result = run("--log-format", "json", "--config", str(config_file(tmp_path)), "export")
    assert result.exit_code == 1
    records = [json.loads(line) for line in result.output.splitlines() if line.strip()]
    assert len(records) == 1 and records[0]["level"] == "error"
    assert "is not a usable SQLite database" in records[0]["message"] and "exception" not in records[0]


def test_an_unexpected_error_is_one_line_and_the_traceback_comes_with_debug(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    existing_db(tmp_path)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("something nobody expected")

    monkeypatch.setattr("storage.export.iter_export_rows", broken)
    config = str(config_file(tmp_path))
    plain = run("--config", config, "export")
    debug = run("--log-level", "DEBUG", "--config", config, "export")

    assert plain.exit_code == 1
    assert "unexpected RuntimeError: something nobody expected" in brief(plain)
    assert "--log-level DEBUG" in plain.output
    assert "Traceback" in debug.output or "Traceback" in (debug.stderr if debug.stderr_bytes else "")


@pytest.mark.parametrize(("args", "expected"), [
    (("demo", "--cycles", "-5"), "'--cycles'"),
    (("watch", "history", "--limit", "0"), "'--limit'"),
    (("export", "--since", "yesterday"), "'--since'"),
    (("export", "--format", "xlsx"), "'--format'"),
])
def test_a_bad_option_value_is_a_usage_error_naming_the_option(tmp_path: Path, args: tuple[str, ...],
                                                               expected: str) -> None:
    existing_db(tmp_path)
    result = run("--config", str(config_file(tmp_path)), *args)
    assert result.exit_code == 2
    assert expected in brief(result)


@pytest.mark.parametrize(("args", "expected"), [
    (("add", "hashtag", "h" * 1000), "a hashtag of 1000 characters is longer than the 255 Merkwacht can watch"),
    (("add", "brand", "b" * 300, "--term", "acme"), "a name of 300 characters is longer than the 255"),
    (("add", "brand", "Acme", "--term", "?"), "'?' has no letter or digit"),
    (("add", "hashtag", "thee", "--instance", "http://admin:pw@m.example"), "holds credentials"),
])
def test_watch_input_is_validated_like_the_config_without_a_traceback(
    tmp_path: Path, args: tuple[str, ...], expected: str
) -> None:
    existing_db(tmp_path)
    result = run("--config", str(config_file(tmp_path)), "watch", *args)
    assert result.exit_code == 1
    output = brief(result)
    assert "not changed" in output and expected in output and "pw@" not in output


def test_postgresql_without_its_driver_says_which_extra_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_driver(url: str) -> Any:
        raise ModuleNotFoundError("No module named 'psycopg'", name="psycopg")

    monkeypatch.setattr("storage.db.make_engine", no_driver)
    result = run("--config", str(config_file(tmp_path, "postgresql://merkwacht@127.0.0.1/merkwacht")), "poll")
    assert result.exit_code == 1
    assert "needs the psycopg driver, which is not installed: pip install 'merkwacht[postgres]'" in brief(result)


def test_check_names_an_unreadable_token_file_and_still_shows_the_rest(tmp_path: Path) -> None:
    extra = '[discord]\ntoken_env = "MERKWACHT_HOSTILE_T"\n'
    env = {"COLUMNS": "250", "MERKWACHT_HOSTILE_T": "", "MERKWACHT_HOSTILE_T_FILE": str(tmp_path / "no-such-secret")}
    result = run("--config", str(config_file(tmp_path, extra=extra)), "check", env=env)
    assert result.exit_code == 0, result.output
    assert "cannot read the token file" in result.output and "no-such-secret" in result.output
    assert "Brands" in result.output


@pytest.mark.parametrize(("message", "expected"), [
    ('connection failed: FATAL:  password authentication failed for user "merkwacht"',
     "PostgreSQL merkwacht@db.example:5433/m refused the login"),
    ("connection failed: Connection refused", "cannot reach PostgreSQL merkwacht@db.example:5433/m"),
    ('FATAL:  database "m" does not exist', "create the database first"),
])
def test_postgresql_failures_are_explained_with_the_host_and_what_to_do(message: str, expected: str) -> None:
    from storage.db import explain

    explained = explain(RuntimeError(message), "postgresql://merkwacht@db.example:5433/m")
    assert expected in explained and "\n" not in explained
