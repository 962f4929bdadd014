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

from bot.config.durations import DurationError, parse_duration
from bot.config.tomlpos import locate_key
from bot.model import SUPPORTED_BACKENDS

DEFAULT_CONFIG_PATH = Path("config.toml")
"""Where the CLI looks when neither `--config` nor `MERKWACHT_CONFIG` is given."""

_HASHTAG = re.compile(r"^\w+$")
_CONTACT_EMAIL = re.compile(r"^[^@\s;()<>]+@[^@\s;()<>]+\.[^@\s;()<>]+$")
_HANDLE = re.compile(r"^[\w.-]+@[\w.-]+\.[\w-]+$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_WORD = re.compile(r"\w")
MAX_KEY = 255
"""Hashtags, handles, brand names and terms are stored in `varchar(255)` columns (watches, mentions)."""
MAX_URL = 200
"""Instance URLs are stored as a post's origin (`varchar(255)`), with room to spare."""


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
    if len(tag) > MAX_KEY:
        raise ValueError(f"a hashtag of {len(tag)} characters is longer than the {MAX_KEY} Merkwacht can watch")
    if not tag or not _HASHTAG.match(tag):
        raise ValueError(f"{value!r} is not a hashtag: letters, digits and _ only, like 'acme' or '#AcmeCoffee'")
    return tag


def normalise_handle(value: str) -> str:
    """`@Acme@Mastodon.social` -> `acme@mastodon.social`; raises ValueError otherwise."""
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a handle (expected text)")
    handle = value.strip().lstrip("@").casefold()
    if len(handle) > MAX_KEY:
        raise ValueError(f"a handle of {len(handle)} characters is longer than the {MAX_KEY} Merkwacht can watch")
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


def _duration_or_zero(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    try:
        return parse_duration(value, allow_zero=True)
    except DurationError as exc:
        raise ValueError(str(exc)) from None


def _clock(value: Any) -> time:
    if isinstance(value, time):
        return value
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", str(value))
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(f"{value!r} is not a time of day like '09:00'")
    return time(int(match[1]), int(match[2]))


def _url(value: Any, *, path_allowed: bool) -> str:
    text = str(value).strip().rstrip("/")
    example = "'https://discord.com/api/v10'" if path_allowed else "'https://mastodon.social'"
    parts = urlsplit(text)
    if parts.username is not None or parts.password is not None:
        # Never echo it: the part before @ is a password.
        raise ValueError(
            f"the URL of {parts.hostname or 'this host'} holds credentials, and secrets never go in the config "
            "file: remove the 'user:password@' part and put an access token in the variable token_env names"
        )
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{value!r} has a port that is not a number from 0 to 65535") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL like {example}")
    if parts.query or parts.fragment or "?" in text or "#" in text:
        raise ValueError(f"{value!r} has a query or fragment; give the server's base URL, like {example}")
    if parts.path and not path_allowed:
        raise ValueError(f"{value!r} has a path ({parts.path}); give the instance's base URL, like {example}")
    if len(text) > MAX_URL:
        raise ValueError(f"a URL of {len(text)} characters is longer than the {MAX_URL} Merkwacht accepts")
    scheme = parts.scheme.lower()
    default_port = {"http": 80, "https": 443}[scheme]
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = host if port in (None, default_port) else f"{host}:{port}"
    # One spelling per server: `HTTPS://Example.org:443/` and `https://example.org` are the same instance.
    return f"{scheme}://{netloc}{parts.path}"


def _http_url(value: Any) -> str:
    return _url(value, path_allowed=False)


def _api_url(value: Any) -> str:
    return _url(value, path_allowed=True)


def _name(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a name (expected text)")
    name = value.strip()
    if not name:
        raise ValueError("the name is empty or blank")
    if len(name.casefold()) > MAX_KEY:
        raise ValueError(f"a name of {len(name)} characters is longer than the {MAX_KEY} Merkwacht can store")
    return name


def _phrases(value: list[str]) -> list[str]:
    cleaned = [v.strip() for v in value]
    if any(not v for v in cleaned):
        raise ValueError("an empty term matches everything; remove it")
    for term in cleaned:
        if len(term) > MAX_KEY:
            raise ValueError(f"a term of {len(term)} characters is longer than the {MAX_KEY} Merkwacht can store")
    return list(dict.fromkeys(cleaned))


def _terms(value: list[str]) -> list[str]:
    cleaned = _phrases(value)
    for term in cleaned:
        if not _WORD.search(term):
            # A brand mention must name something: "?" or "-" would make nearly every post a mention.
            raise ValueError(f"{term!r} has no letter or digit, so it would match nearly every post; remove it")
    return cleaned


def _unique_tags(values: list[str]) -> list[str]:
    return list(dict.fromkeys(normalise_hashtag(v) for v in values))


Duration = Annotated[timedelta, BeforeValidator(_duration)]
"""A timedelta written as `30s`, `5m`, `1h`."""
ClockTime = Annotated[time, BeforeValidator(_clock)]
"""A local time of day written as `HH:MM`."""
HttpUrl = Annotated[str, BeforeValidator(_http_url)]
"""An http(s) server URL (no credentials, path, query or fragment), normalised: lower case, no default port."""
ApiUrl = Annotated[str, BeforeValidator(_api_url)]
"""An http(s) API base URL: like HttpUrl, but with a path allowed."""
NonNegativeDuration = Annotated[timedelta, BeforeValidator(_duration_or_zero)]
"""A Duration that may be `0s`."""
Name = Annotated[str, BeforeValidator(_name)]
"""A brand or topic name: not blank, at most MAX_KEY characters."""
Terms = Annotated[list[str], AfterValidator(_terms)]
"""Brand terms: each with a letter or digit, at most MAX_KEY characters; duplicates dropped."""
Phrases = Annotated[list[str], AfterValidator(_phrases)]
"""Exclusions and topic terms: not blank, at most MAX_KEY characters (a symbol like `€` may be one)."""
Hashtags = Annotated[list[str], AfterValidator(_unique_tags)]
"""Hashtags, normalised to lower case without `#`, duplicates dropped."""
Handles = Annotated[list[str], AfterValidator(lambda v: list(dict.fromkeys(normalise_handle(h) for h in v)))]
"""Fediverse handles, normalised to `user@domain`."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Secret(_Section):
    """Where a secret lives: an environment variable or a file, never the config itself.

    Docker secrets: `<token_env>_FILE` names a file holding the token (e.g. `DISCORD_TOKEN_FILE=/run/secrets/x`).
    """

    token_env: str | None = None
    token_file: Path | None = None

    @field_validator("token_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not _ENV_NAME.match(value) or len(value) > 128:
            # Never echo the value: what lands here by mistake is usually the token itself.
            raise ValueError(
                "must be the NAME of an environment variable (letters, digits and _, like 'DISCORD_TOKEN'); this "
                "value is not one, and may be the token itself: put the token in that variable, never in the config"
            )
        return value

    def token_source(self) -> str:
        """Where the token is read from, for messages: never the token itself."""
        sources = []
        if self.token_env:
            sources += [f"${self.token_env}", f"${self.token_env}_FILE"]
        if self.token_file:
            sources.append(str(self.token_file))
        return " or ".join(sources) or "nowhere (no token_env or token_file)"

    def token(self) -> str | None:
        """The secret's value, or None when no source is set or holds anything."""
        if self.token_env and os.environ.get(self.token_env, "").strip():
            return os.environ[self.token_env].strip()
        if self.token_env and os.environ.get(f"{self.token_env}_FILE", "").strip():
            return _read_secret(Path(os.environ[f"{self.token_env}_FILE"].strip()), f"${self.token_env}_FILE")
        if self.token_file and self.token_file.is_file():
            return _read_secret(self.token_file, "token_file")
        return None


class SecretError(Exception):
    """A secret's file is named but cannot be read; the message says which file and which setting named it."""


def _read_secret(path: Path, named_by: str) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, "strerror", None) or exc
        raise SecretError(f"cannot read the token file {path} (named by {named_by}): {why}") from None


class StorageConfig(_Section):
    """`[storage]`: where posts are kept."""

    url: str = "sqlite:///merkwacht.db"
    retention: Duration | None = None
    """Posts older than this are purged daily, their per-day brand counts kept for the digest; None keeps all."""

    @field_validator("retention")
    @classmethod
    def _long_enough(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value < timedelta(days=3):
            raise ValueError("retention under 3d would purge posts before the daily digest and the refresh used "
                             "them; use 3d or more (or leave it out to keep everything)")
        return value

    @field_validator("url")
    @classmethod
    def _looks_like_url(cls, value: str) -> str:
        if "://" not in value:
            raise ValueError(f"{value!r} is not an SQLAlchemy URL like 'sqlite:///merkwacht.db'")
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(f"{value!r} is not an SQLAlchemy URL like 'sqlite:///merkwacht.db'") from None
        if url.get_backend_name() not in SUPPORTED_BACKENDS:
            raise ValueError(
                f"{url.get_backend_name()!r} databases are not supported: use SQLite ('sqlite:///merkwacht.db') or "
                "PostgreSQL ('postgresql://user@host/db', with `pip install merkwacht[postgres]`)"
            )
        if url.password:
            raise ValueError(
                "the URL holds a password, and secrets never go in the config file: remove it and set PGPASSWORD "
                "(or use ~/.pgpass), which PostgreSQL's client reads by itself"
            )
        return value


class ScheduleConfig(_Section):
    """`[schedule]`: how often sources are polled and when the digest goes out."""

    poll_interval: Duration = timedelta(minutes=5)
    poll_jitter: NonNegativeDuration = timedelta(seconds=30)
    digest_at: ClockTime = time(9, 0)
    strategy: Literal["fixed", "adaptive"] = "fixed"
    """`fixed`: every Mastodon timeline every poll_interval; `adaptive`: each as often as its posts arrive."""
    max_latency: Duration = timedelta(minutes=10)
    """Adaptive: the longest a timeline goes unpolled (its posts' worst-case delay while budgets allow)."""
    min_interval: Duration = timedelta(seconds=30)
    """Adaptive: the shortest interval between two polls of one timeline, however busy."""

    @model_validator(mode="after")
    def _sane(self) -> ScheduleConfig:
        if self.poll_interval < timedelta(seconds=10):
            raise ValueError("poll_interval: under 10s would hammer the instances; use 10s or more")
        if self.min_interval < timedelta(seconds=10):
            raise ValueError("min_interval: under 10s would hammer the instances; use 10s or more")
        if self.max_latency < self.min_interval:
            raise ValueError("max_latency: must be at least min_interval")
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
    contact: str | None = None
    """A URL or e-mail address instance admins can reach the operator at; sent in the User-Agent."""
    instances: list[MastodonInstance] = Field(default_factory=list)

    @field_validator("contact")
    @classmethod
    def _reachable(cls, value: str | None) -> str | None:
        if value is None:
            return None
        text = value.strip()
        if _CONTACT_EMAIL.match(text):
            return text
        parts = urlsplit(text)
        if parts.scheme in ("http", "https") and parts.netloc and not any(c in text for c in " ;()"):
            return text
        raise ValueError(f"{value!r} is neither an e-mail address like 'ops@example.org' nor an http(s) URL like "
                         "'https://example.org/merkwacht'")

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

    name: Name
    terms: Terms = Field(default_factory=list)
    hashtags: Hashtags = Field(default_factory=list)
    handles: Handles = Field(default_factory=list)
    exclude: Phrases = Field(default_factory=list)

    @model_validator(mode="after")
    def _something_to_match(self) -> BrandConfig:
        if not (self.terms or self.hashtags or self.handles):
            raise ValueError(f"brand {self.name!r} has no terms, hashtags or handles, so nothing can match it")
        return self


class TopicConfig(_Section):
    """`[[topics]]`: a theme posts are tagged with when they use one of its terms."""

    name: Name
    terms: Phrases = Field(min_length=1)


class AnalysisConfig(_Section):
    """`[analysis]`: language detection and classification."""

    languages: list[str] = Field(default_factory=lambda: ["nl", "en", "de", "fr", "es"], min_length=1)
    model: Path | None = None
    """A local Hugging Face sequence-classification model folder for sentiment (needs `merkwacht[transformers]`)."""

    @field_validator("languages")
    @classmethod
    def _iso(cls, value: list[str]) -> list[str]:
        from lingua import Language

        out = [v.strip().lower() for v in value]
        bad = [v for v in out if not re.fullmatch(r"[a-z]{2}", v)]
        if bad:
            raise ValueError(f"{bad[0]!r} is not a two-letter ISO 639-1 language code like 'nl'")
        known = {language.iso_code_639_1.name.lower() for language in Language.all()}
        unknown = [v for v in out if v not in known]
        if unknown:
            codes = ", ".join(sorted(known))
            raise ValueError(f"{unknown[0]!r} is not a language Merkwacht can detect; it knows {codes}")
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
    api_base: ApiUrl = "https://discord.com/api/v10"
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
    tune_heap: bool = False
    """Opt-in: fix glibc's heap pad (4 MiB) and mmap threshold (32 MiB) at `run` (see docs/operations.md)."""

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


def _quiet_hours(value: Any) -> tuple[time, time]:
    if isinstance(value, tuple):
        return value
    match = re.fullmatch(r"\s*(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*", str(value))
    if not match:
        raise ValueError(f"{value!r} is not a span of local time like '22:00-07:00'")
    start, end = _clock(match[1]), _clock(match[2])
    if start == end:
        raise ValueError(f"{value!r} starts and ends at the same time; leave quiet_hours out for none")
    return start, end


QuietHours = Annotated[tuple[time, time], BeforeValidator(_quiet_hours)]
"""A span of local time written `22:00-07:00` (it may run past midnight)."""


class AlertRoles(_Section):
    """`[alerts.roles]`: the role pinged by each kind of alert; a kind without one pings no one."""

    needs_answer: int | None = Field(default=None, gt=0)
    spike: int | None = Field(default=None, gt=0)
    sentiment: int | None = Field(default=None, gt=0)


class AlertBrandConfig(_Section):
    """`[alerts.brands.NAME]`: one brand's own alert settings, where they differ from `[alerts]`."""

    timezone: str | None = None
    quiet_hours: QuietHours | None = None
    any_complaint: bool | None = None
    followers: int | None = Field(default=None, ge=0)
    engagement: int | None = Field(default=None, ge=0)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"{value!r} is not an IANA time zone like 'Europe/Amsterdam'") from None
        return value


class AlertsConfig(_Section):
    """`[alerts]`: alerts within minutes (off unless `channel` is set); see docs/alerts.md."""

    channel: int | None = Field(default=None, gt=0)
    followers: int = Field(default=1000, ge=0)
    """A complaint or question from an author with at least this many followers needs an answer now."""
    engagement: int = Field(default=10, ge=0)
    """... or one with at least this many replies, boosts and favourites together."""
    any_complaint: bool = False
    """Every complaint needs an answer now, whatever its reach."""
    max_age: Duration = timedelta(hours=6)
    """Posts older than this never alert (a backfill of yesterday is for the digest)."""
    cooldown: Duration = timedelta(minutes=30)
    """After an alert, the same brand's next alert of that kind waits this long (and is summarised then)."""
    max_per_hour: int = Field(default=6, ge=1)
    quiet_hours: QuietHours | None = None
    spike_window: Duration = timedelta(hours=1)
    spike_alpha: float = Field(default=1e-3, gt=0, lt=0.05)
    """How unlikely the count must be under the brand's normal for that hour of the week."""
    spike_min_count: int = Field(default=8, ge=1)
    sentiment_window: Duration = timedelta(hours=3)
    sentiment_alpha: float = Field(default=1e-3, gt=0, lt=0.05)
    sentiment_min_posts: int = Field(default=10, ge=3)
    sentiment_min_lift: float = Field(default=0.2, gt=0, lt=1)
    """The negative share must be at least this much above the brand's normal share (0.2 = 20 points)."""
    history: Duration = timedelta(days=28)
    """How much stored history the baselines are learned from."""
    roles: AlertRoles = Field(default_factory=AlertRoles)
    brands: dict[str, AlertBrandConfig] = Field(default_factory=dict)

    def for_brand(self, name: str) -> AlertBrandConfig:
        """The brand's own settings (matched case-insensitively), or an empty table."""
        for key, value in self.brands.items():
            if key.casefold() == name.casefold():
                return value
        return AlertBrandConfig()


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
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)

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

    def own_hashtags(self) -> list[str]:
        """Hashtags watched for their own sake, not as a brand's: global and per-instance, without duplicates."""
        tags = list(self.mastodon.hashtags)
        for instance in self.mastodon.instances:
            tags += instance.hashtags
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
