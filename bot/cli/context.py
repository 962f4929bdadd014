"""What every `merkwacht` subcommand is handed: where the config is, loaded once on first use."""

from __future__ import annotations

from pathlib import Path

import click

from bot.config import Config, ConfigError, load_config


class Context:
    """What every subcommand needs: where the config is, loaded on first use."""

    def __init__(self, config_path: Path) -> None:
        self.config_path = config_path
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        """The validated config; a bad one ends the command with the problems listed."""
        if self._config is None:
            try:
                self._config = load_config(self.config_path)
            except ConfigError as exc:
                raise click.ClickException(f"the config cannot be used:\n{exc}") from None
        return self._config
