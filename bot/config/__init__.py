"""The configuration: `config.toml` read, validated and typed (`schema`), with the helpers it needs.

Everything else imports from here: `from bot.config import Config, load_config`.
"""

from bot.config.schema import (
    DEFAULT_CONFIG_PATH,
    AlertsConfig,
    AnalysisConfig,
    BrandConfig,
    Config,
    ConfigError,
    DiscordConfig,
    MastodonConfig,
    MastodonInstance,
    OpsConfig,
    ScheduleConfig,
    StorageConfig,
    TopicConfig,
    load_config,
    normalise_handle,
    normalise_hashtag,
    parse_config,
)

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "AlertsConfig",
    "AnalysisConfig",
    "BrandConfig",
    "Config",
    "ConfigError",
    "DiscordConfig",
    "MastodonConfig",
    "MastodonInstance",
    "OpsConfig",
    "ScheduleConfig",
    "StorageConfig",
    "TopicConfig",
    "load_config",
    "normalise_handle",
    "normalise_hashtag",
    "parse_config",
]
