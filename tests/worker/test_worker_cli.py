"""`merkwacht worker` needs a PostgreSQL database to share; on SQLite it says so and points at `merkwacht run`."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli.main import cli

pytest.importorskip("procrastinate", reason="the workers extra (procrastinate) is not installed")

from bot.worker.app import WorkerSetupError, conninfo


def test_a_worker_on_a_sqlite_database_is_refused_with_the_reason_and_the_alternative(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'timezone = "UTC"\n[storage]\nurl = "sqlite:///{tmp_path / "m.db"}"\n'
        '[mastodon]\nhashtags = ["koffie"]\n[[mastodon.instances]]\nurl = "https://mastodon.example"\n'
    )
    result = CliRunner().invoke(cli, ["--config", str(config), "worker"])
    assert result.exit_code == 1
    assert "storage.url" in result.output and "PostgreSQL" in result.output and "merkwacht run" in result.output


def test_the_storage_url_becomes_a_libpq_connection_string_with_its_options_kept() -> None:
    url = "postgresql+psycopg://root@127.0.0.1:5432/merk?options=-csearch_path%3Dx"
    assert conninfo(url) == "postgresql://root@127.0.0.1:5432/merk?options=-csearch_path%3Dx"
    with pytest.raises(WorkerSetupError, match="sqlite"):
        conninfo("sqlite:///merk.db")
