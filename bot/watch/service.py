"""Changing the watch list at run time: the operations the CLI and the Discord commands share.

Input goes through the same validators as the config file (`bot.config`), so `#Acme Coffee` is refused with the
same words whether it was typed into `config.toml`, the terminal or Discord. A change is checked and written in one
transaction: it is saved whole, or not at all.
"""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import ValidationError

from bot.config import BrandConfig, Config, DiscordConfig, MastodonInstance, normalise_hashtag
from bot.model import StoredWatch
from bot.watch.watchlist import (
    ABSENT,
    EffectiveWatchList,
    Kind,
    WatchEntry,
    brand_key,
    config_fingerprint,
    effective,
)
from storage import watches as store
from storage.db import Database


class WatchError(Exception):
    """A change that cannot be made; the message says why, in words for the person who asked."""


@dataclass(frozen=True, slots=True)
class Change:
    """What a change did: its message for the person who asked, and whether anything was written."""

    message: str
    changed: bool


class ChannelAccess(Protocol):
    """Whether the bot can read a Discord channel; the Discord bot and the CLI each answer it their own way."""

    async def problem(self, channel_id: int) -> str | None:
        """None when the bot can read `channel_id`, otherwise what stops it, in words."""
        ...


def cli_actor() -> str:
    """Who a CLI change is recorded as: the operating-system user."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry, as in some containers
        return "cli"


def _messages(exc: ValidationError) -> str:
    # The config file's messages without pydantic's prefixes; key paths mean nothing to someone typing a command.
    return "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())


def parse_hashtag(value: str) -> str:
    """A hashtag as the config file would store it; raises WatchError otherwise."""
    try:
        return normalise_hashtag(value)
    except ValueError as exc:
        raise WatchError(str(exc)) from None


def parse_instance(value: str) -> str:
    """An instance URL as the config file would store it; raises WatchError otherwise."""
    try:
        return MastodonInstance.model_validate({"url": value}).url
    except ValidationError as exc:
        raise WatchError(f"instance: {_messages(exc)}") from None


def parse_channel(value: int | str) -> int:
    """A Discord channel id as the config file would store it; raises WatchError otherwise."""
    try:
        return DiscordConfig.model_validate({"watch_channels": [value]}).watch_channels[0]
    except ValidationError:
        raise WatchError(f"{value!r} is not a channel id (right-click the channel, Copy Channel ID)") from None


def parse_brand(name: str, terms: Sequence[str] = (), hashtags: Sequence[str] = (), handles: Sequence[str] = (),
                exclude: Sequence[str] = ()) -> BrandConfig:
    """A brand validated like a `[[brands]]` table; raises WatchError otherwise."""
    try:
        return BrandConfig.model_validate(
            {"name": name.strip(), "terms": list(terms), "hashtags": list(hashtags), "handles": list(handles),
             "exclude": list(exclude)}
        )
    except ValidationError as exc:
        shown = name if len(name) <= 60 else name[:60] + "…"
        raise WatchError(f"brand {shown!r}: {_messages(exc)}") from None


Decide = Callable[[EffectiveWatchList], "tuple[list[StoredWatch], str]"]


class WatchService:
    """The watch list of one config and database: read it, and change it on behalf of someone."""

    def __init__(self, db: Database, config: Config) -> None:
        self.db = db
        self.config = config

    def current(self) -> EffectiveWatchList:
        """The effective watch list right now."""
        with self.db.sessions() as session:
            return effective(self.config, store.load(session))

    async def entries(self) -> list[WatchEntry]:
        """Every line of `watch list`."""
        return (await asyncio.to_thread(self.current)).entries

    def _apply(self, decide: Decide, action: str, by: str) -> Change:
        with self.db.transaction() as session:
            store.lock_for_change(session)
            now = effective(self.config, store.load(session))
            if now.lapsed:
                store.mark_lapsed(session, now.lapsed, by=by)
            rows, message = decide(now)  # a WatchError here rolls the transaction back
            for watch in rows:
                store.save(session, watch, action=action, detail={"brand": watch.brand, **watch.payload})
        return Change(message, bool(rows))

    async def _change(self, decide: Decide, action: str, by: str) -> Change:
        return await asyncio.to_thread(self._apply, decide, action, by)

    def _row(self, kind: Kind, key: str, instance: str, by: str, *, active: bool, brand: str | None = None,
             payload: dict[str, Any] | None = None) -> StoredWatch:
        return StoredWatch(
            kind=kind, key=key, instance=instance, brand=brand, payload=payload or {},
            state="active" if active else "removed",
            config_fingerprint=config_fingerprint(self.config, kind, key, instance),
            changed_by=by, changed_at=datetime.now(UTC),
        )

    async def add_hashtag(self, name: str, *, by: str, brand: str | None = None, instance: str | None = None) -> Change:
        """Poll hashtag `name` (on one instance, or on all), optionally counting it for `brand`."""
        tag = parse_hashtag(name)
        url = parse_instance(instance) if instance else ""
        where = f" on {url}" if url else ""

        def decide(now: EffectiveWatchList) -> tuple[list[StoredWatch], str]:
            owner = None
            if brand is not None:
                found = now.brand(brand)
                if found is None:
                    names = ", ".join(b.name for b in now.config.brands) or "none yet"
                    raise WatchError(f"there is no brand {brand!r} (brands: {names}); add it with `watch add brand`")
                owner = found.name
            urls = [url] if url else [i.url for i in now.config.mastodon.instances]
            polled = bool(urls) and all((u, tag) in now.timelines for u in urls)
            owner_brand = now.brand(owner) if owner else None
            if polled and (owner_brand is None or tag in owner_brand.hashtags):
                return [], f"#{tag} is already watched{where}"
            rows = [self._row("hashtag", tag, url, by, active=True, brand=owner)]
            if not url:
                # Watching a hashtag everywhere also undoes its earlier removal from single instances.
                rows += [self._row("hashtag", tag, e.instance, by, active=True) for e in now.entries
                         if e.kind == "hashtag" and e.key == tag and e.instance and not e.active]
            note = "" if urls else " (no Mastodon instance is configured yet, so nothing is polled until one is)"
            for_brand = f" for brand {owner}" if owner else ""
            return rows, f"now watching #{tag}{where}{for_brand}{note}"

        return await self._change(decide, "add", by)

    async def remove_hashtag(self, name: str, *, by: str, instance: str | None = None) -> Change:
        """Stop polling hashtag `name` (on one instance, or on all)."""
        tag = parse_hashtag(name)
        url = parse_instance(instance) if instance else ""
        where = f" on {url}" if url else ""

        def decide(now: EffectiveWatchList) -> tuple[list[StoredWatch], str]:
            if not any(t == tag and (not url or u == url) for u, t in now.timelines):
                raise WatchError(f"#{tag} is not watched{where}; `watch list` shows what is")
            watch = self._row("hashtag", tag, url, by, active=False)
            kept = _stays_removed(watch)
            return [watch], f"stopped watching #{tag}{where}{kept}"

        return await self._change(decide, "remove", by)

    async def add_brand(self, name: str, *, by: str, terms: Sequence[str] = (), hashtags: Sequence[str] = (),
                        handles: Sequence[str] = (), exclude: Sequence[str] = ()) -> Change:
        """Add brand `name`, or replace its definition."""
        brand = parse_brand(name, terms, hashtags, handles, exclude)

        def decide(now: EffectiveWatchList) -> tuple[list[StoredWatch], str]:
            existing = now.brand(brand.name)
            if existing is not None and existing.model_dump() == brand.model_dump():
                return [], f"brand {brand.name} is already watched with exactly this definition"
            verb = "updated" if existing is not None else "added"
            payload = brand.model_dump(mode="json")
            row = self._row("brand", brand_key(brand.name), "", by, active=True, payload=payload)
            return [row], f"brand {brand.name} {verb}"

        return await self._change(decide, "add", by)

    async def remove_brand(self, name: str, *, by: str) -> Change:
        """Stop matching brand `name` (its hashtags are no longer polled for it)."""

        def decide(now: EffectiveWatchList) -> tuple[list[StoredWatch], str]:
            existing = now.brand(name)
            if existing is None:
                names = ", ".join(b.name for b in now.config.brands) or "none"
                raise WatchError(f"there is no brand {name!r} (brands: {names})")
            watch = self._row("brand", brand_key(existing.name), "", by, active=False)
            kept = _stays_removed(watch)
            return [watch], f"brand {existing.name} removed{kept}"

        return await self._change(decide, "remove", by)

    async def add_channel(self, channel: int | str, *, by: str, access: ChannelAccess | None) -> Change:
        """Read Discord channel `channel`, once `access` confirms the bot can."""
        channel_id = parse_channel(channel)
        if access is None:
            raise WatchError(
                "cannot check that the bot can read the channel: no Discord token (set the variable named by "
                "[discord] token_env)"
            )
        problem = await access.problem(channel_id)
        if problem:
            raise WatchError(problem)

        def decide(now: EffectiveWatchList) -> tuple[list[StoredWatch], str]:
            if channel_id in now.channels:
                return [], f"channel {channel_id} is already watched"
            return [self._row("channel", str(channel_id), "", by, active=True)], f"now watching channel {channel_id}"

        return await self._change(decide, "add", by)

    async def remove_channel(self, channel: int | str, *, by: str) -> Change:
        """Stop reading Discord channel `channel`."""
        channel_id = parse_channel(channel)

        def decide(now: EffectiveWatchList) -> tuple[list[StoredWatch], str]:
            if channel_id not in now.channels:
                raise WatchError(f"channel {channel_id} is not watched; `watch list` shows what is")
            watch = self._row("channel", str(channel_id), "", by, active=False)
            kept = _stays_removed(watch)
            return [watch], f"stopped watching channel {channel_id}{kept}"

        return await self._change(decide, "remove", by)


def _stays_removed(watch: StoredWatch) -> str:
    return " (it stays removed until the config file changes it)" if watch.config_fingerprint != ABSENT else ""


def describe(entry: WatchEntry) -> str:
    """One line of `watch list` in words: `#acme (config, brand Acme)`, `#koffie (runtime: added by cli:ann ...)`."""
    bits: list[str] = [entry.origin]
    if entry.brand:
        bits.append(f"brand {entry.brand}")
    if not entry.active:
        bits.append("REMOVED")
    if entry.changed_by:
        when = f" at {entry.changed_at:%Y-%m-%d %H:%M} UTC" if entry.changed_at else ""
        bits.append(f"{entry.detail} by {entry.changed_by}{when}")
    return f"{entry.label} ({', '.join(bits)})"
