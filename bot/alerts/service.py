"""The alert check: run right after posts are stored, it finds what needs an alert, records it, and delivers it once.

One check: (1) the rules read storage and produce findings; (2) in one transaction each new finding is recorded in
the ledger as pending (to send), held (quiet hours, cooldown, hourly cap) or dropped (muted), a growing spike updates
its open alert instead, and held alerts whose brand may be alerted again are rolled into a summary; (3) every pending
alert is sent under its nonce and marked sent. A crash anywhere leaves pending rows that the next check sends again
under the same nonce, which Discord deduplicates.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.alerts import policy
from bot.alerts.render import headline, links, render_finding, render_summary
from bot.alerts.rules import (
    AnswerRule,
    Finding,
    SentimentRule,
    SpikeRule,
    needs_answer,
    normal_share,
    sentiment_turn,
    spike,
)
from bot.alerts.stats import Baseline, fit_baseline
from bot.config import Config
from bot.config.schema import AlertsConfig
from bot.digest.render import with_nonce
from bot.discord.sink import DeliveryError
from storage import alert_queries as queries
from storage import alerts as ledger
from storage.db import Database

log = logging.getLogger(__name__)

LEARNING_HOURS = 24
"""A brand's spikes are judged once its history covers a day (the first poll's backfill usually gives it that):
before, a brand's first busy afternoon would look like a spike against whatever was assumed of it."""

WEEK_HOURS = 168

MAX_ATTEMPTS = 10
"""Sends of one alert before it is given up (each check retries a failed one; a poll interval apart)."""


class AlertSink(Protocol):
    """Posts a message (answering with its id) and edits one in place."""

    async def send(self, channel_id: int, payload: dict[str, Any], files: Sequence[tuple[str, bytes]] = ()) -> str:
        """Post one message; raises DeliveryError."""
        ...

    async def edit(self, channel_id: int, message_id: str, payload: dict[str, Any]) -> None:
        """Replace a posted message's content and embeds; raises DeliveryError."""
        ...


@dataclass(slots=True)
class CheckReport:
    """What one check did."""

    findings: int = 0
    sent: list[str] = field(default_factory=list)
    """Keys of the alerts Discord confirmed in this check."""
    held: int = 0
    dropped: int = 0
    edited: int = 0
    failed: int = 0


@dataclass(slots=True)
class _Plan:
    edits: list[tuple[ledger.AlertState, dict[str, Any]]] = field(default_factory=list)
    findings: int = 0
    held: int = 0
    dropped: int = 0


def _utcnow() -> datetime:
    return datetime.now(UTC)


class AlertService:
    """Alerts for the configured brands, checked after every store; off while `[alerts] channel` is unset."""

    def __init__(self, config: Callable[[], Config], db: Database, sink: AlertSink | None, *,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self._config = config
        self.db = db
        self.sink = sink
        self._clock = clock
        self._lock = asyncio.Lock()
        self._baselines: dict[tuple[str, datetime], Baseline] = {}
        self._shares: dict[tuple[str, datetime], float] = {}

    @property
    def config(self) -> Config:
        """The config in force now (with run-time brand changes)."""
        return self._config()

    @property
    def enabled(self) -> bool:
        """Whether alerts are delivered: an alert channel and a Discord sink."""
        return self.config.alerts.channel is not None and self.sink is not None

    async def after_store(self, stored: int) -> CheckReport | None:
        """The hook the daemon calls after a poll stored (or updated) `stored` posts: check at once if any."""
        if stored <= 0 or not self.enabled:
            return None
        try:
            return await self.check()
        except Exception:
            # An alert bug must not fail the poll that stored the posts; the next store checks again.
            log.exception("the alert check failed")
            return None

    async def check(self) -> CheckReport:
        """Find, record and deliver alerts now; one check at a time."""
        async with self._lock:
            now = self._clock()
            plan = await asyncio.to_thread(self.plan, now)
            report = CheckReport(findings=plan.findings, held=plan.held, dropped=plan.dropped)
            await self._deliver_pending(report)
            for state, payload in plan.edits:
                try:
                    assert self.sink is not None and state.message_id is not None
                    await self.sink.edit(int(state.channel_id), state.message_id, payload)
                    report.edited += 1
                except DeliveryError as exc:
                    log.warning("could not update alert %s in place: %s", state.key, exc)
            return report

    async def _deliver_pending(self, report: CheckReport) -> None:
        if self.sink is None:
            return
        for state in await asyncio.to_thread(ledger.pending, self.db):
            await asyncio.to_thread(ledger.begin_attempt, self.db, state.id)
            body = with_nonce([state.payload], state.nonce)[0]
            try:
                message_id = await self.sink.send(int(state.channel_id), body)
            except DeliveryError as exc:
                give_up = exc.permanent or state.attempts + 1 >= MAX_ATTEMPTS
                await asyncio.to_thread(ledger.record_failure, self.db, state.id, str(exc), give_up=give_up)
                log.error("alert %s not delivered (attempt %d%s): %s", state.key, state.attempts + 1,
                          ", giving up" if give_up else ", retried at the next check", exc)
                report.failed += 1
                continue
            await asyncio.to_thread(ledger.mark_sent, self.db, state.id, message_id, self._clock())
            report.sent.append(state.key)
            log.info("alert sent: %s (%s, %s)", state.key, state.kind, state.brand)

    # --- deciding (blocking: runs in a thread) ---

    def plan(self, now: datetime) -> _Plan:
        """Evaluate the rules at `now` and record the outcome in the ledger; the sends are left to the caller."""
        config = self.config
        settings = config.alerts
        if settings.channel is None:
            return _Plan()
        findings = self.evaluate(config, now)
        for attempt in range(2):
            try:
                with self.db.transaction() as session:
                    return self._record(session, config, findings, now)
            except IntegrityError:
                # Another process recorded one of these keys a moment ago: read them again and skip theirs.
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _zone(self, config: Config, brand: str) -> ZoneInfo:
        return ZoneInfo(config.alerts.for_brand(brand).timezone or config.timezone)

    def _quiet(self, config: Config, brand: str, now: datetime) -> bool:
        own = config.alerts.for_brand(brand).quiet_hours
        return policy.in_quiet_hours(now, self._zone(config, brand), own or config.alerts.quiet_hours)

    def _record(self, session: Session, config: Config, findings: list[Finding], now: datetime) -> _Plan:
        settings = config.alerts
        channel = str(settings.channel)
        limits = policy.Limits(settings.cooldown, settings.max_per_hour)
        horizon = max(settings.cooldown, timedelta(hours=1), settings.spike_window, settings.sentiment_window)
        recent = ledger.recent(session, now - horizon - timedelta(hours=24), channel)
        mutes = ledger.mutes(session, now)
        known = ledger.known_keys(session, [f.key for f in findings])
        plan = _Plan(findings=len(findings))
        for finding in findings:
            if finding.key in known:
                continue
            known.add(finding.key)
            zone = self._zone(config, finding.brand)
            if finding.kind in ("spike", "sentiment") and self._extend(session, settings, recent, finding, zone, now,
                                                                       plan):
                continue
            decision = policy.decide(finding.kind, finding.brand, now, recent, limits,
                                     muted=finding.brand.casefold() in mutes,
                                     quiet=self._quiet(config, finding.brand, now))
            role = getattr(settings.roles, finding.kind, None)
            figures = {**finding.figures, "headline": headline(finding, zone), "links": links(finding),
                       "last_seen": now.isoformat()}
            state = ledger.record(session, ledger.NewAlert(
                finding.key, finding.kind, finding.brand, channel, decision.status,
                render_finding(finding, zone, role), figures, decision.reason), now)
            recent.append(state)
            plan.held += decision.status == "held"
            plan.dropped += decision.status == "dropped"
        self._summarise(session, config, recent, mutes, now, limits)
        return plan

    def _extend(self, session: Session, settings: AlertsConfig, recent: list[ledger.AlertState], finding: Finding,
                zone: ZoneInfo, now: datetime, plan: _Plan) -> bool:
        """Fold `finding` into the brand's open spike or sentiment alert, if there is one; whether there was."""
        window = settings.spike_window if finding.kind == "spike" else settings.sentiment_window
        episode = next((a for a in reversed(recent) if a.kind == finding.kind
                        and a.brand.casefold() == finding.brand.casefold()
                        and datetime.fromisoformat(a.figures.get("last_seen", "1970-01-01T00:00:00+00:00"))
                        >= now - window), None)
        if episode is None:
            return False
        figures = {**episode.figures, "last_seen": now.isoformat()}
        payload = episode.payload
        grew = finding.kind == "spike" and finding.figures["count"] > episode.figures.get("peak", 0)
        if grew:
            merged = Finding(episode.key, finding.kind, finding.brand, finding.at,
                             {**finding.figures, "peak": finding.figures["count"]}, finding.posts)
            figures = {**figures, **merged.figures, "headline": headline(merged, zone), "links": links(merged)}
            payload = render_finding(merged, zone, settings.roles.spike)
            if episode.status == ledger.SENT and episode.message_id:
                plan.edits.append((episode, payload))
        ledger.update_alert(session, episode.id, payload, figures, now)
        recent[recent.index(episode)] = ledger.replace(episode, payload=payload, figures=figures)
        return True

    def _summarise(self, session: Session, config: Config, recent: list[ledger.AlertState],
                   mutes: dict[str, ledger.Mute], now: datetime, limits: policy.Limits) -> None:
        by_brand: dict[str, list[ledger.AlertState]] = {}
        for state in ledger.held(session, str(config.alerts.channel)):
            by_brand.setdefault(state.brand, []).append(state)
        for brand, held in by_brand.items():
            if brand.casefold() in mutes:
                continue
            if not policy.summary_due(brand, now, recent, limits, quiet=self._quiet(config, brand, now)):
                continue
            zone = self._zone(config, brand)
            payload = render_summary(brand, held, zone, now)
            state = ledger.record(session, ledger.NewAlert(
                f"summary:{brand.casefold()}:{held[0].id}", "summary", brand, str(config.alerts.channel),
                ledger.PENDING, payload, {"headline": f"{len(held)} held alerts", "count": len(held)},
                covers=[h.id for h in held]), now)
            recent.append(state)

    def evaluate(self, config: Config, now: datetime) -> list[Finding]:
        """Every finding of every rule at `now` (before deduplication against the ledger)."""
        settings = config.alerts
        findings: list[Finding] = []
        seen: set[str] = set()
        with self.db.transaction() as session:
            for post in queries.answer_candidates(session, now - settings.max_age):
                own = settings.for_brand(post.brand)
                rule = AnswerRule(
                    own.followers if own.followers is not None else settings.followers,
                    own.engagement if own.engagement is not None else settings.engagement,
                    own.any_complaint if own.any_complaint is not None else settings.any_complaint,
                )
                found = needs_answer(post, rule)
                if found is not None and found.key not in seen:
                    seen.add(found.key)
                    findings.append(found)
            for brand in [b.name for b in config.brands]:
                findings += self._volume(session, settings, brand, self._zone(config, brand), now)
        return findings

    def _volume(self, session: Session, settings: AlertsConfig, brand: str, zone: ZoneInfo,
                now: datetime) -> list[Finding]:
        out = []
        window = settings.spike_window
        start = now - window
        count = len(queries.mention_times(session, brand, start, now))
        if count >= settings.spike_min_count:
            baseline = self.baseline(session, settings, brand, zone, now)
        if count >= settings.spike_min_count and baseline.hours >= LEARNING_HOURS:
            # A baseline learned from days rather than weeks is less sure of itself: the bar starts a hundred times
            # higher after the first day and comes down (geometrically) to `spike_alpha` over the first week.
            learned = min(1.0, (baseline.hours - LEARNING_HOURS) / (WEEK_HOURS - LEARNING_HOURS))
            trust = 0.01 ** (1.0 - learned)
            found = spike(brand, count, baseline.expected(start, window), baseline.overdispersion, now,
                          SpikeRule(settings.spike_alpha * trust, settings.spike_min_count),
                          window.total_seconds() / 3600)
            if found is not None:
                posts = queries.brand_posts(session, brand, start, now)
                out.append(Finding(found.key, found.kind, brand, now, found.figures, tuple(posts)))
        since = now - settings.sentiment_window
        negative, labelled = queries.sentiment_counts(session, brand, since, now)
        if labelled >= settings.sentiment_min_posts:
            normal = self.normal_share(session, settings, brand, now)
            rule = SentimentRule(settings.sentiment_alpha, settings.sentiment_min_posts, settings.sentiment_min_lift)
            turn = sentiment_turn(brand, negative, labelled, normal, now, rule,
                                  settings.sentiment_window.total_seconds() / 3600)
            if turn is not None:
                posts = queries.brand_posts(session, brand, since, now, negative=True)
                out.append(Finding(turn.key, turn.kind, brand, now, turn.figures, tuple(posts)))
        return out

    def baseline(self, session: Session, settings: AlertsConfig, brand: str, zone: ZoneInfo,
                 now: datetime) -> Baseline:
        """The brand's hour-of-week baseline from the stored history before the current window (refitted hourly)."""
        end = (now - settings.spike_window).replace(minute=0, second=0, microsecond=0)
        cached = self._baselines.get((brand, end))
        if cached is not None:
            return cached
        first = queries.first_mention_at(session, brand)
        start = end - settings.history
        if first is not None and first > start:
            start = first.replace(minute=0, second=0, microsecond=0)
        hours = max(0, int((end - start).total_seconds() // 3600))
        counts = [0] * hours
        for when in queries.mention_times(session, brand, start, end):
            index = int((when - start).total_seconds() // 3600)
            if 0 <= index < hours:
                counts[index] += 1
        baseline = fit_baseline(counts, start, zone)
        self._baselines = {k: v for k, v in self._baselines.items() if k[1] == end}
        self._baselines[(brand, end)] = baseline
        return baseline

    def normal_share(self, session: Session, settings: AlertsConfig, brand: str, now: datetime) -> float:
        """The brand's usual negative share over the history before the sentiment window (refitted hourly)."""
        end = (now - settings.sentiment_window).replace(minute=0, second=0, microsecond=0)
        cached = self._shares.get((brand, end))
        if cached is None:
            negative, labelled = queries.sentiment_counts(session, brand, end - settings.history, end)
            cached = normal_share(negative, labelled)
            self._shares = {k: v for k, v in self._shares.items() if k[1] == end}
            self._shares[(brand, end)] = cached
        return cached
