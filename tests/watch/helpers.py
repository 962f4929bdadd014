"""A config file as an operator writes it, and the `merkwacht` command run against it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from click.testing import CliRunner, Result

from bot.cli.main import cli
from bot.config import Config, load_config

GUILD_ID = 4242424242


def write_config(path: Path, db_url: str, instances: Sequence[str] = ("http://127.0.0.1:9",), *,
                 hashtags: Sequence[str] = ("koffie",), extra: str = "") -> Path:
    """A config watching `hashtags` and brand Acme (#acme) on each instance, slash commands in GUILD_ID."""
    blocks = "".join(f'\n[[mastodon.instances]]\nurl = "{url}"\n' for url in instances)
    tags = ", ".join(f'"{t}"' for t in hashtags)
    path.write_text(
        f'timezone = "Europe/Amsterdam"\n[storage]\nurl = "{db_url}"\n'
        f'[schedule]\npoll_interval = "1h"\npoll_jitter = "1s"\n'
        f'[discord]\nguild_ids = [{GUILD_ID}]\n'
        f'[mastodon]\nhashtags = [{tags}]\n{blocks}\n'
        '[[brands]]\nname = "Acme"\nterms = ["Acme"]\nhashtags = ["acme"]\n' + extra,
        encoding="utf-8",
    )
    return path


def merkwacht(config_path: Path, *args: str) -> Result:
    """Run `merkwacht --config PATH ARGS...` as a user would."""
    return CliRunner().invoke(cli, ["--config", str(config_path), *args], catch_exceptions=False)


def config_of(path: Path) -> Config:
    """The config file, validated."""
    return load_config(path)
