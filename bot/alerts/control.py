"""Run-time control of alerts, shared by the CLI (`merkwacht alerts ...`) and Discord (`/alerts ...`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.alerts.render import render_finding
from bot.alerts.rules import Finding
from bot.alerts.service import AlertSink
from bot.config import Config
from bot.config.durations import DurationError, format_duration, parse_duration
from bot.digest.render import with_nonce
from storage import alerts as ledger
from storage.alert_queries import StoredPost
from storage.db import Database


class AlertControlError(Exception):
    """A control command that cannot be done; the message says why and what would work."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


class AlertControl:
    """List, mute, unmute and test alerts on one database and config."""

    def __init__(self, db: Database, config: Callable[[], Config], *, clock: Callable[[], datetime] = _utcnow) -> None:
        self.db = db
        self._config = config
        self._clock = clock

    def channel(self) -> int | None:
        """The alert channel, if one is configured."""
        return self._config().alerts.channel

    def brand(self, name: str) -> str:
        """The configured brand called `name` (any case); AlertControlError naming the brands otherwise."""
        brands = [b.name for b in self._config().brands]
        for brand in brands:
            if brand.casefold() == name.strip().casefold():
                return brand
        known = ", ".join(brands) or "none yet"
        raise AlertControlError(f"there is no brand {name.strip()!r}; the brands are: {known}")

    def mute(self, name: str, duration: str | None, by: str) -> str:
        """Mute a brand for `duration` (like 2h), or until unmuted; what was done, in a sentence."""
        brand = self.brand(name)
        until = None
        if duration:
            try:
                until = self._clock() + parse_duration(duration)
            except DurationError as exc:
                raise AlertControlError(f"{exc} (for example 30m, 2h or 1d)") from None
        ledger.mute(self.db, brand, until, by, now=self._clock())
        zone = self._config().zone
        return (f"Alerts for {brand} are muted until {until.astimezone(zone):%a %d %b %H:%M} ({zone.key})"
                if until else f"Alerts for {brand} are muted until unmuted")

    def unmute(self, name: str) -> str:
        """Unmute a brand; what was done, in a sentence."""
        brand = self.brand(name)
        if ledger.unmute(self.db, brand):
            return f"Alerts for {brand} are on again"
        return f"Alerts for {brand} were not muted"

    def lines(self, limit: int = 15) -> list[str]:
        """The alert settings in force, the mutes and the latest alerts, as plain lines (Markdown-safe)."""
        config = self._config()
        settings = config.alerts
        zone = config.zone
        now = self._clock()
        out = []
        if settings.channel is None:
            out.append("Alerts are off: no [alerts] channel in the config.")
        else:
            quiet = (f"{settings.quiet_hours[0]:%H:%M}-{settings.quiet_hours[1]:%H:%M}"
                     if settings.quiet_hours else "none")
            out.append(f"Alerts go to <#{settings.channel}>: cooldown {format_duration(settings.cooldown)}, "
                       f"at most {settings.max_per_hour} per hour, quiet hours {quiet}.")
        with self.db.transaction() as session:
            mutes = ledger.mutes(session, now)
        for mute in mutes.values():
            until = f"until {mute.until.astimezone(zone):%a %d %b %H:%M}" if mute.until else "until unmuted"
            out.append(f"Muted: {mute.brand} {until} (by {mute.muted_by})")
        recent = ledger.latest(self.db, limit)
        if not recent:
            out.append("No alerts yet.")
        for alert in recent:
            when = alert.created_at.astimezone(zone)
            reason = f" ({alert.reason})" if alert.reason else ""
            out.append(f"{when:%d %b %H:%M} · {alert.kind} · {alert.status}{reason} · "
                       f"{alert.figures.get('headline', alert.brand)}")
        return out

    def test_payload(self, role: bool = False) -> dict[str, Any]:
        """A clearly marked sample alert (a made-up complaint), as it would be posted."""
        config = self._config()
        brand = config.brands[0].name if config.brands else "Your brand"
        now = self._clock()
        post = StoredPost(0, brand, "https://example.invalid/sample", "https://example.invalid/sample", "mastodon",
                          "https://example.invalid", "A sample account", 12_345, now - timedelta(minutes=2),
                          f"This is a sample post about {brand}: my order never arrived.", "", "negative",
                          "complaint", 3, 5, 7)
        finding = Finding("test", "needs_answer", brand, now,
                          {"cx": "complaint", "followers": 12_345, "engagement": 15, "reasons": ["reach"]}, (post,))
        role_id = config.alerts.roles.needs_answer if role else None
        return render_finding(finding, ZoneInfo(config.timezone), role_id, test=True)

    async def send_test(self, sink: AlertSink) -> str:
        """Post the sample alert to the alert channel; the message id."""
        channel = self._config().alerts.channel
        if channel is None:
            raise AlertControlError("no [alerts] channel in the config, so there is nowhere to send a test")
        return await sink.send(channel, with_nonce([self.test_payload()], ledger.new_nonce())[0])
