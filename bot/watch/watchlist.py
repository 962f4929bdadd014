"""The effective watch list: the config file's entries with the run-time changes (CLI, Discord) layered on top.

The rule, in one sentence: a run-time change applies while the config entry it was made against stays as it was;
once the config file changes that entry, the file wins again and the run-time change lapses.

So a hashtag removed at run time that is still in the config stays removed across restarts; edit that hashtag in
the config (add it to or drop it from a list, or change the brand it belongs to) and the config's version is back.
Every run-time row therefore carries a fingerprint of the config entry as it was when the change was made; an entry
the config does not have has a fingerprint too (`absent`), so when the config later adds it, the config wins.

Removing a hashtag stops it being polled; it does not change which brand a post carrying it counts for (that is the
brand's definition, changed with `watch add/remove brand`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationError

from bot.config import BrandConfig, Config, MastodonInstance
from bot.model import WATCH_ABSENT, SourceKind, StoredWatch, TimelineId, WatchKind

log = logging.getLogger(__name__)

Kind = WatchKind
KINDS: tuple[Kind, ...] = ("hashtag", "brand", "channel")
ABSENT = WATCH_ABSENT


@dataclass(frozen=True, slots=True)
class WatchEntry:
    """One line of `watch list`: an entry of the effective list, or a config entry hidden by a run-time removal."""

    kind: Kind
    key: str
    origin: Literal["config", "runtime"]
    active: bool
    instance: str = ""
    brand: str | None = None
    detail: str = ""
    changed_by: str | None = None
    changed_at: datetime | None = None

    @property
    def label(self) -> str:
        """How the entry is written to a person: `#acme on https://x`, `brand Acme`, `channel 123`."""
        if self.kind == "hashtag":
            where = f" on {self.instance}" if self.instance else ""
            return f"#{self.key}{where}"
        return f"{self.kind} {self.key}"


@dataclass(frozen=True, slots=True)
class EffectiveWatchList:
    """What the daemon watches right now, and how `watch list` explains it."""

    config: Config
    """The effective configuration: the file's, with run-time brands, hashtags, instances and channels merged in.

    Global hashtags appear in each instance's list (`mastodon.hashtags` is empty), with run-time removals left out.
    """
    timelines: list[tuple[str, str]]
    """(instance URL, hashtag) pairs to poll, in a stable order."""
    entries: list[WatchEntry]
    lapsed: list[StoredWatch]
    """Run-time rows whose config entry has changed since; the daemon records that they ended."""

    @property
    def channels(self) -> list[int]:
        """Discord channel ids to read."""
        return list(self.config.discord.watch_channels)

    @property
    def timeline_ids(self) -> list[TimelineId]:
        """Every timeline to read: the hashtags on their instances, then the Discord channels."""
        ids = [TimelineId(SourceKind.MASTODON, url, tag) for url, tag in self.timelines]
        return ids + [TimelineId(SourceKind.DISCORD, "discord", str(c)) for c in self.channels]

    def brand(self, name: str) -> BrandConfig | None:
        """The effective brand called `name` (any case), if there is one."""
        return next((b for b in self.config.brands if b.name.casefold() == name.casefold()), None)


def fingerprint(value: Any) -> str:
    """A short, stable digest of a config entry (ABSENT for none)."""
    if value is None or value == []:
        return ABSENT
    text = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def hashtag_places(config: Config, tag: str, instance: str = "") -> list[str]:
    """Where the config lists `tag` for this scope ("" = every instance): the places that make up its entry."""
    places = []
    if tag in config.mastodon.hashtags:
        places.append("mastodon.hashtags")
    for inst in config.mastodon.instances:
        if tag in inst.hashtags and (not instance or inst.url == instance):
            places.append(f"mastodon.instances[{inst.url}].hashtags")
    places.extend(f"brands[{b.name}].hashtags" for b in config.brands if tag in b.hashtags)
    return places


def config_fingerprint(config: Config, kind: Kind, key: str, instance: str = "") -> str:
    """The fingerprint of the config entry a run-time change of (kind, key, instance) is made against."""
    if kind == "hashtag":
        return fingerprint(hashtag_places(config, key, instance))
    if kind == "brand":
        brand = next((b for b in config.brands if b.name.casefold() == key), None)
        return fingerprint(brand.model_dump(mode="json") if brand else None)
    return fingerprint(["discord.watch_channels"] if int(key) in config.discord.watch_channels else None)


def brand_key(name: str) -> str:
    """Brands are one entry per name, whatever its case."""
    return name.strip().casefold()


def _in_force(config: Config, rows: Iterable[StoredWatch]) -> tuple[list[StoredWatch], list[StoredWatch]]:
    live: list[StoredWatch] = []
    lapsed: list[StoredWatch] = []
    for row in rows:
        if row.state == "lapsed":
            continue
        current = config_fingerprint(config, row.kind, row.key, row.instance)
        (live if row.config_fingerprint == current else lapsed).append(row)
    return live, lapsed


def effective(config: Config, rows: Sequence[StoredWatch]) -> EffectiveWatchList:
    """Merge the config's entries with the run-time rows that are still in force."""
    live, lapsed = _in_force(config, rows)
    by_key = {(r.kind, r.key, r.instance): r for r in live}
    entries: list[WatchEntry] = []

    def note(row: StoredWatch | None, what: str) -> dict[str, Any]:
        if row is None:
            return {}
        return {"detail": what, "changed_by": row.changed_by, "changed_at": row.changed_at}

    # Brands first: run-time hashtags can attach themselves to a brand.
    brands: dict[str, BrandConfig] = {}
    for brand in config.brands:
        row = by_key.get(("brand", brand_key(brand.name), ""))
        if row is not None and not row.active:
            entries.append(WatchEntry("brand", brand.name, "config", False, **note(row, "removed at run time")))
            continue
        if row is None:
            brands[brand_key(brand.name)] = brand
            entries.append(WatchEntry("brand", brand.name, "config", True))
    for row in live:
        if row.kind == "brand" and row.active:
            try:
                brand = BrandConfig.model_validate(row.payload)
            except ValidationError as exc:
                log.warning("ignoring run-time brand %r: %s", row.key, exc)
                continue
            overrides = any(brand_key(b.name) == row.key for b in config.brands)
            brands[row.key] = brand
            entries.append(WatchEntry("brand", brand.name, "runtime", True,
                                      **note(row, "replaces the config's definition" if overrides else "added")))
    # A brand's hashtag added for one instance counts for the brand everywhere (matching) but is polled only there,
    # unless the config or another change watches it on every instance.
    everywhere = {*config.mastodon.hashtags, *(t for b in brands.values() for t in b.hashtags)}
    only_on: dict[str, set[str]] = {}
    for row in live:
        if row.kind == "hashtag" and row.active and row.brand and brand_key(row.brand) in brands:
            current = brands[brand_key(row.brand)]
            if row.key not in current.hashtags:
                brands[brand_key(row.brand)] = current.model_copy(update={"hashtags": [*current.hashtags, row.key]})
            if row.instance:
                only_on.setdefault(row.key, set()).add(row.instance)
            else:
                everywhere.add(row.key)
    for tag in everywhere:
        only_on.pop(tag, None)

    # Instances: the config's, plus any a run-time hashtag names (read anonymously, as public timelines).
    instances = list(config.mastodon.instances)
    known = {i.url for i in instances}
    for row in live:
        if row.kind == "hashtag" and row.active and row.instance and row.instance not in known:
            instances.append(MastodonInstance(url=row.instance))
            known.add(row.instance)

    def hidden(tag: str, url: str) -> bool:
        # The row for this one instance, when there is one, says more than the row for every instance.
        row = by_key.get(("hashtag", tag, url)) or by_key.get(("hashtag", tag, ""))
        return row is not None and not row.active

    # The merged config lists each instance's own hashtags in full (global, the instance's, run-time ones, less the
    # removed), so every consumer reads the effective list from the one place the file config keeps it.
    brand_tags = {tag for brand in brands.values() for tag in brand.hashtags}
    merged_instances = []
    for inst in instances:
        own = [*config.mastodon.hashtags, *inst.hashtags]
        own += [r.key for r in live if r.kind == "hashtag" and r.active and r.instance in ("", inst.url)]
        own = [tag for tag in dict.fromkeys(own) if tag not in brand_tags and not hidden(tag, inst.url)]
        merged_instances.append(inst.model_copy(update={"hashtags": own}))

    # Hashtag lines for `watch list`: each config hashtag entry, and each run-time one.
    seen: set[tuple[str, str]] = set()
    config_tags = [(t, "") for t in config.mastodon.hashtags]
    config_tags += [(t, i.url) for i in config.mastodon.instances for t in i.hashtags]
    config_tags += [(t, "") for b in config.brands for t in b.hashtags]
    for tag, url in config_tags:
        if (tag, url) in seen:
            continue
        seen.add((tag, url))
        owners = [b.name for b in config.brands if tag in b.hashtags]
        row = by_key.get(("hashtag", tag, url)) or by_key.get(("hashtag", tag, ""))
        if row is not None and not row.active:
            entries.append(WatchEntry("hashtag", tag, "config", False, url, ", ".join(owners) or None,
                                      **note(row, "removed at run time")))
        else:
            entries.append(WatchEntry("hashtag", tag, "config", True, url, ", ".join(owners) or None))
    for brand in brands.values():
        if brand not in config.brands:
            for tag in brand.hashtags:
                if (tag, "") not in seen and ("hashtag", tag, "") not in by_key:
                    seen.add((tag, ""))
                    entries.append(WatchEntry("hashtag", tag, "runtime", not hidden(tag, ""), "", brand.name,
                                              detail="a hashtag of a run-time brand"))
    for row in live:
        if row.kind == "hashtag" and row.active and (row.key, row.instance) not in seen:
            entries.append(WatchEntry("hashtag", row.key, "runtime", True, row.instance, row.brand,
                                      **note(row, "added")))
        elif row.kind == "hashtag" and not row.active and row.config_fingerprint != ABSENT and (
            (row.key, row.instance) not in seen
        ):
            # A removal on one instance of a hashtag the config watches everywhere.
            entries.append(WatchEntry("hashtag", row.key, "config", False, row.instance, None,
                                      **note(row, "removed at run time")))

    channels: list[int] = []
    for channel in config.discord.watch_channels:
        row = by_key.get(("channel", str(channel), ""))
        if row is not None and not row.active:
            entries.append(WatchEntry("channel", str(channel), "config", False, **note(row, "removed at run time")))
        else:
            channels.append(channel)
            entries.append(WatchEntry("channel", str(channel), "config", True))
    for row in live:
        if row.kind == "channel" and row.active and int(row.key) not in channels:
            channels.append(int(row.key))
            entries.append(WatchEntry("channel", row.key, "runtime", True, **note(row, "added")))

    merged = config.model_copy(
        update={
            "brands": list(brands.values()),
            "mastodon": config.mastodon.model_copy(update={"instances": merged_instances, "hashtags": []}),
            "discord": config.discord.model_copy(update={"watch_channels": channels}),
        }
    )
    timelines = [
        (inst.url, tag)
        for inst in merged_instances
        for tag in merged.watched_hashtags(inst)
        if not hidden(tag, inst.url) and (tag not in only_on or inst.url in only_on[tag])
    ]
    return EffectiveWatchList(merged, timelines, entries, lapsed)
