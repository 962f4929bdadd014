"""The configuration file: TOML read with tomllib, validated with pydantic.

Every error names the key path and, where it can be found, the line, and says what is wrong. Secrets never appear
here: the file names the environment variable (`token_env`) or file (`token_file`) that holds them.
"""

from __future__ import annotations

import os
import re
import tomllib
import unicodedata
from datetime import time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.durations import DurationError, parse_duration
from bot.tomlpos import locate_key

DEFAULT_CONFIG_PATH = Path("config.toml")
"""Where the CLI looks when neither `--config` nor `MERKWACHT_CONFIG` is given."""

_HASHTAG = re.compile(r"^\w+$")
_HANDLE = re.compile(r"^[\w.-]+@[\w.-]+\.[\w-]+$")


class ConfigError(Exception):
    """The configuration cannot be used; the message says which key, where and why."""

    def __init__(self, problems: list[str], path: Path | None = None) -> None:
        self.problems = problems
        self.path = path
        where = f"{path}: " if path else ""
        super().__init__("\n".join(f"{where}{p}" for p in problems))


def normalise_hashtag(value: str) -> str:
    """`#AcmeCoffee` -> `acmecoffee`; raises ValueError for what cannot be a hashtag."""
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a hashtag (expected text)")
    tag = unicodedata.normalize("NFC", value.strip()).lstrip("#").casefold()
    if not tag or not _HASHTAG.match(tag):
        raise ValueError(f"{value!r} is not a hashtag: letters, digits and _ only, like 'acme' or '#AcmeCoffee'")
    return tag


def normalise_handle(value: str) -> str:
    """`@Acme@Mastodon.social` -> `acme@mastodon.social`; raises ValueError otherwise."""
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a handle (expected text)")
    handle = value.strip().lstrip("@").casefold()
    if not _HANDLE.match(handle):
        raise ValueError(f"{value!r} is not a fediverse handle like '@acme@mastodon.social'")
    return handle


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    try:
        return parse_duration(value)
    except DurationError as exc:
        raise ValueError(str(exc)) from None


def _clock(value: Any) -> time:
    if isinstance(value, time):
        return value
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", str(value))
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(f"{value!r} is not a time of day like '09:00'")
    return time(int(match[1]), int(match[2]))


def _http_url(value: Any) -> str:
    text = str(value).strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r} is not an http(s) URL like 'https://mastodon.social'")
    return text


def _unique_tags(values: list[str]) -> list[str]:
    return list(dict.fromkeys(normalise_hashtag(v) for v in values))


Duration = Annotated[timedelta, BeforeValidator(_duration)]
"""A timedelta written as `30s`, `5m`, `1h`."""
ClockTime = Annotated[time, BeforeValidator(_clock)]
"""A local time of day written as `HH:MM`."""
HttpUrl = Annotated[str, BeforeValidator(_http_url)]
"""An http(s) base URL without a trailing slash."""
Hashtags = Annotated[list[str], AfterValidator(_unique_tags)]
"""Hashtags, normalised to lower case without `#`, duplicates dropped."""
Handles = Annotated[list[str], AfterValidator(lambda v: list(dict.fromkeys(normalise_handle(h) for h in v)))]
"""Fediverse handles, normalised to `user@domain`."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Secret(_Section):
    """Where a secret lives: an environment variable or a file, never the config itself."""

    token_env: str | None = None
    token_file: Path | None = None

    def token(self) -> str | None:
        """The secret's value, or None when neither source is set or holds anything."""
        if self.token_env and os.environ.get(self.token_env, "").strip():
            return os.environ[self.token_env].strip()
        if self.token_file and self.token_file.is_file():
            return self.token_file.read_text(encoding="utf-8").strip() or None
        return None


class StorageConfig(_Section):
    """`[storage]`: where posts are kept."""

    url: str = "sqlite:///merkwacht.db"

    @field_validator("url")
    @classmethod
    def _looks_like_url(cls, value: str) -> str:
        if "://" not in value:
            raise ValueError(f"{value!r} is not an SQLAlchemy URL like 'sqlite:///merkwacht.db'")
        try:
            password = make_url(value).password
        except ArgumentError:
            raise ValueError(f"{value!r} is not an SQLAlchemy URL like 'sqlite:///merkwacht.db'") from None
        if password:
            raise ValueError(
                "the URL holds a password, and secrets never go in the config file: remove it and set PGPASSWORD "
                "(or use ~/.pgpass), which PostgreSQL's client reads by itself"
            )
        return value


class ScheduleConfig(_Section):
    """`[schedule]`: how often sources are polled and when the digest goes out."""

    poll_interval: Duration = timedelta(minutes=5)
    poll_jitter: Duration = timedelta(seconds=30)
    digest_at: ClockTime = time(9, 0)

    @model_validator(mode="after")
    def _sane(self) -> ScheduleConfig:
        if self.poll_interval < timedelta(seconds=10):
            raise ValueError("poll_interval: under 10s would hammer the instances; use 10s or more")
        return self


class MastodonInstance(Secret):
    """`[[mastodon.instances]]`: one server whose hashtag timelines are read."""

    url: HttpUrl
    hashtags: Hashtags = Field(default_factory=list)
    """Watched on this instance only, in addition to the global and brand hashtags."""


class MastodonConfig(_Section):
    """`[mastodon]`: the fediverse side."""

    hashtags: Hashtags = Field(default_factory=list)
    backfill: Duration = timedelta(hours=24)
    respect_opt_outs: bool = True
    request_timeout: Duration = timedelta(seconds=20)
    refresh_interval: Duration = timedelta(hours=1)
    """How often the engagement (and edits) of recent brand mentions is read again; they grow after the first poll."""
    refresh_window: Duration = timedelta(hours=48)
    """How old a post may be and still be refreshed."""
    instances: list[MastodonInstance] = Field(default_factory=list)

    @field_validator("instances")
    @classmethod
    def _distinct(cls, value: list[MastodonInstance]) -> list[MastodonInstance]:
        seen: set[str] = set()
        for inst in value:
            if inst.url.casefold() in seen:
                raise ValueError(f"{inst.url!r} is listed twice")
            seen.add(inst.url.casefold())
        return value


class BrandConfig(_Section):
    """`[[brands]]`: what counts as a mention of one brand."""

    name: str = Field(min_length=1)
    terms: list[str] = Field(default_factory=list)
    hashtags: Hashtags = Field(default_factory=list)
    handles: Handles = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)

    @field_validator("terms", "exclude")
    @classmethod
    def _non_blank(cls, value: list[str]) -> list[str]:
        cleaned = [v.strip() for v in value]
        if any(not v for v in cleaned):
            raise ValueError("an empty term matches everything; remove it")
        return list(dict.fromkeys(cleaned))

    @model_validator(mode="after")
    def _something_to_match(self) -> BrandConfig:
        if not (self.terms or self.hashtags or self.handles):
            raise ValueError(f"brand {self.name!r} has no terms, hashtags or handles, so nothing can match it")
        return self


class TopicConfig(_Section):
    """`[[topics]]`: a theme posts are tagged with when they use one of its terms."""

    name: str = Field(min_length=1)
    terms: list[str] = Field(min_length=1)


class AnalysisConfig(_Section):
    """`[analysis]`: language detection and classification."""

    languages: list[str] = Field(default_factory=lambda: ["nl", "en", "de", "fr", "es"], min_length=1)
    model: Path | None = None
    """A local Hugging Face sequence-classification model folder for sentiment (needs `merkwacht[transformers]`)."""

    @field_validator("languages")
    @classmethod
    def _iso(cls, value: list[str]) -> list[str]:
        out = [v.strip().lower() for v in value]
        bad = [v for v in out if not re.fullmatch(r"[a-z]{2}", v)]
        if bad:
            raise ValueError(f"{bad[0]!r} is not a two-letter ISO 639-1 language code like 'nl'")
        return list(dict.fromkeys(out))


def _distinct_ids(value: list[int], what: str) -> list[int]:
    # Discord ids (snowflakes) are positive; a repeated one is kept once.
    bad = [v for v in value if v <= 0]
    if bad:
        raise ValueError(f"{bad[0]!r} is not {what}")
    return list(dict.fromkeys(value))


class DiscordConfig(Secret):
    """`[discord]`: the bot that reads watched channels and posts the daily digest."""

    token_env: str | None = "DISCORD_TOKEN"
    api_base: HttpUrl = "https://discord.com/api/v10"
    """Overridable for Discord API proxies and the tests' local server."""
    digest_channel: int | None = Field(default=None, gt=0)
    """Where the daily digest is posted; none means no digest is delivered."""
    watch_channels: list[int] = Field(default_factory=list)
    backfill: Duration = timedelta(hours=24)
    """How far back the first poll of a channel reads."""
    digest_retries: int = Field(default=4, ge=0, le=10)
    """How often a failed digest send is retried (with backoff) before it waits for the next run."""
    guild_ids: list[int] = Field(default_factory=list)
    """Servers the slash commands (`/watch`, `/digest`, `/status`) are synced to; none means no slash commands."""

    @field_validator("watch_channels")
    @classmethod
    def _snowflakes(cls, value: list[int]) -> list[int]:
        return _distinct_ids(value, "a channel id (right-click the channel, Copy Channel ID)")

    @field_validator("guild_ids")
    @classmethod
    def _guild_snowflakes(cls, value: list[int]) -> list[int]:
        return _distinct_ids(value, "a server id (right-click the server icon, Copy Server ID)")


class OpsConfig(_Section):
    """`[ops]`: running unattended: the health and metrics endpoint, logs, per-poll deadline and backoff."""

    http_enabled: bool = True
    http_host: str = "127.0.0.1"
    """Loopback by default: /healthz and /metrics are for the local health check and a scraper on this host."""
    http_port: int = Field(default=9108, ge=0, le=65535)
    """0 lets the system pick a free port (the tests do)."""
    log_format: Literal["plain", "json"] | None = None
    """Overrides the CLI's `--log-format` default; the flag, when given, wins."""
    poll_timeout: Duration = timedelta(minutes=5)
    """The most one poll of one timeline may take, all pages together; a hung server then fails only that poll."""
    backoff_max: Duration = timedelta(hours=1)
    """The longest wait before retrying a source that keeps failing."""

    @field_validator("http_host")
    @classmethod
    def _ip(cls, value: str) -> str:
        import ipaddress

        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address like '127.0.0.1'") from None
        return value

    @model_validator(mode="after")
    def _positive(self) -> OpsConfig:
        if self.poll_timeout <= timedelta(0) or self.backoff_max <= timedelta(0):
            raise ValueError("poll_timeout and backoff_max must be longer than 0s")
        return self


class Config(_Section):
    """The whole `config.toml`."""

    timezone: str = "UTC"
    storage: StorageConfig = Field(default_factory=StorageConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    mastodon: MastodonConfig = Field(default_factory=MastodonConfig)
    brands: list[BrandConfig] = Field(default_factory=list)
    topics: list[TopicConfig] = Field(default_factory=list)
    analysis: AnalysisConfig = Field(default_factory=AnalysisConfig)
    discord: DiscordConfig = Field(default_factory=DiscordConfig)
    ops: OpsConfig = Field(default_factory=OpsConfig)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone like 'Europe/Amsterdam'") from None
        return value

    @field_validator("brands")
    @classmethod
    def _distinct_brands(cls, value: list[BrandConfig]) -> list[BrandConfig]:
        seen: set[str] = set()
        for brand in value:
            if brand.name.casefold() in seen:
                raise ValueError(f"brand {brand.name!r} is defined twice")
            seen.add(brand.name.casefold())
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The configured time zone."""
        return ZoneInfo(self.timezone)

    def watched_hashtags(self, instance: MastodonInstance) -> list[str]:
        """Every hashtag polled on `instance`: global, per-instance and each brand's, without duplicates."""
        tags = [*self.mastodon.hashtags, *instance.hashtags]
        for brand in self.brands:
            tags.extend(brand.hashtags)
        return list(dict.fromkeys(tags))


def _format_location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


def _describe(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key (check its spelling and the table it is in; see config.example.toml)"
    if kind == "missing":
        return "required key is missing"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def parse_config(text: str, path: Path | None = None) -> Config:
    """Validate a TOML document; raises ConfigError naming every problem's key path and line."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"not valid TOML: {exc}"], path) from None
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            # Errors raised by model validators sit on the section itself; the message names the key.
            loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            key = _format_location(loc)
            line = locate_key(text, loc)
            where = f" (line {line})" if line else ""
            problems.append(f"{key or '<top level>'}{where}: {_describe(error)}")
        raise ConfigError(problems, path) from None


def load_config(path: Path) -> Config:
    """Read and validate the config file at `path`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [f"no config file here; copy config.example.toml to {path} or pass --config PATH"], path
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"cannot read the config file: {exc}"], path) from None
    return parse_config(text, path)
