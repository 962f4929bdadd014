"""Tail probabilities of counts, and a seasonal (hour-of-week) baseline of a brand's mentions learned from history.

The tails are summed term by term in log space from the first term of the tail, so the tiny probabilities a spike
test compares against (1e-6 and less) keep their precision; no statistics library is needed for three sums.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

HOURS_PER_WEEK = 168
_MAX_TERMS = 100_000


def poisson_sf(k: int, mean: float) -> float:
    """P(X ≥ k) for X ~ Poisson(mean)."""
    if k <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    if k <= mean:
        # The bulk: 1 - P(X < k), summed from 0 (k is small here, so the sum is short and exact enough).
        return max(0.0, 1.0 - sum(math.exp(j * math.log(mean) - mean - math.lgamma(j + 1)) for j in range(k)))
    total, j = 0.0, k
    term = math.exp(k * math.log(mean) - mean - math.lgamma(k + 1))
    while term > 0 and j < k + _MAX_TERMS:
        total += term
        j += 1
        term *= mean / j
        if term < total * 1e-17:
            break
    return min(1.0, total)


def nbinom_sf(k: int, mean: float, overdispersion: float) -> float:
    """P(X ≥ k) for a negative binomial count with this mean and variance mean + overdispersion × mean².

    That is a Poisson count whose rate itself varies (gamma-distributed) from hour to hour, as real traffic does;
    overdispersion 0 is the Poisson distribution.
    """
    if overdispersion <= 1e-9:
        return poisson_sf(k, mean)
    if k <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    r = 1.0 / overdispersion
    p = r / (r + mean)
    log_p, log_q = math.log(p), math.log1p(-p)

    def log_pmf(j: int) -> float:
        return math.lgamma(j + r) - math.lgamma(r) - math.lgamma(j + 1) + r * log_p + j * log_q

    if k <= mean:
        return max(0.0, 1.0 - sum(math.exp(log_pmf(j)) for j in range(k)))
    total, j = 0.0, k
    term = math.exp(log_pmf(k))
    while term > 0 and j < k + _MAX_TERMS:
        total += term
        term *= (j + r) / (j + 1) * (1.0 - p)
        j += 1
        if term < total * 1e-17:
            break
    return min(1.0, total)


def binom_sf(k: int, n: int, p: float) -> float:
    """P(X ≥ k) for X ~ Binomial(n, p)."""
    if k <= 0:
        return 1.0
    if k > n or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    log_p, log_q = math.log(p), math.log1p(-p)
    return min(1.0, sum(
        math.exp(math.lgamma(n + 1) - math.lgamma(j + 1) - math.lgamma(n - j + 1) + j * log_p + (n - j) * log_q)
        for j in range(k, n + 1)
    ))


@dataclass(frozen=True, slots=True)
class BaselinePrior:
    """What is assumed of a brand before its history says otherwise: a rate, worth some hours of evidence."""

    rate: float = 1.0
    """Mentions per hour assumed for a brand with no history."""
    hours: float = 2.0
    """How many hours of history the assumption is worth: it carries a brand with no history, and a day of real
    history (which spikes wait for) outweighs it twelve times over."""
    profile_strength: float = 3.0
    """Pseudo-hours shrinking each hour-of-day factor toward 1 while it rests on few days."""
    day_strength: float = 24.0
    """Pseudo-hours shrinking each day-of-week factor toward 1: a day seen only in part (its night, say) must not
    pull the rest of that day down or up."""
    overdispersion: float = 0.2
    """Assumed overdispersion (hours varying by ±45 % beyond Poisson) until the history can say."""
    overdispersion_hours: float = 72.0
    """How many hours of history that assumption is worth."""
    slot_strength: float = 2.0
    """Pseudo-weeks shrinking an hour-of-week slot toward the hour-of-day × day-of-week model."""


@dataclass(frozen=True, slots=True)
class Baseline:
    """The expected mentions per hour of one brand for every hour of the week (local time), and the overdispersion."""

    slots: tuple[float, ...]
    """168 expected counts, indexed by local weekday × 24 + hour (Monday 00:00 first)."""
    overdispersion: float
    """How much the hourly counts vary beyond Poisson: variance = mean + overdispersion × mean² (0 = Poisson)."""
    rate: float
    """The brand's overall mentions per hour."""
    hours: int
    """Hours of history it was learned from."""
    zone: str

    def expected(self, start: datetime, length: timedelta = timedelta(hours=1)) -> float:
        """Expected mentions in [start, start + length): the slots it covers, each weighted by the overlap."""
        zone = ZoneInfo(self.zone)
        total, cursor, end = 0.0, start, start + length
        while cursor < end:
            next_hour = (cursor.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1))
            step = min(next_hour, end) - cursor
            total += self.slots[slot_of(cursor, zone)] * step.total_seconds() / 3600
            cursor = min(next_hour, end)
        return total


def slot_of(when: datetime, zone: ZoneInfo) -> int:
    """The local hour of the week of `when` (0 = Monday 00:00–01:00)."""
    local = when.astimezone(zone)
    return local.weekday() * 24 + local.hour


def fit_baseline(
    counts: Sequence[int], start: datetime, zone: ZoneInfo, prior: BaselinePrior = BaselinePrior()
) -> Baseline:
    """Learn a baseline from hourly `counts`, the first for the hour from `start` (UTC), the rest following on.

    Multiplicative model: overall rate × hour-of-day factor × day-of-week factor, each shrunk toward 1 by
    `prior.profile_strength` pseudo-hours; each hour-of-week slot is then its own mean shrunk toward that model by
    `prior.slot_strength` pseudo-weeks. Hours far above the first fit (earlier spikes) are clipped and the model fitted
    again, so a past spike does not raise the bar for the next one.
    """
    slots_of = [slot_of(start + timedelta(hours=i), zone) for i in range(len(counts))]
    clipped = [float(c) for c in counts]
    expected: list[float] = []
    slots: list[float] = []
    rate = prior.rate
    for _round in range(2):
        rate, slots = _fit(clipped, slots_of, prior)
        expected = [slots[s] for s in slots_of]
        clipped = [min(float(c), e + 4.0 * math.sqrt(e) + 2.0) for c, e in zip(counts, expected, strict=True)]
    # The overdispersion by the method of moments, E[(c - μ)²] = μ + a·μ², on the clipped counts so that a few past
    # spikes do not widen the tail for ever; bursty brands get a wider tail, and quiet hours a narrower one than
    # a single variance-to-mean ratio would give them.
    # While the history is short the estimate is shrunk toward prior.overdispersion (worth three days), so a
    # brand's second day is not judged as if its traffic were as regular as a Poisson process.
    estimate = 0.0
    if counts:
        excess = sum((c - e) ** 2 - e for c, e in zip(clipped, expected, strict=True))
        estimate = min(max(excess / max(sum(e * e for e in expected), 1e-9), 0.0), 2.0)
    weight = prior.overdispersion_hours
    overdispersion = (len(counts) * estimate + weight * prior.overdispersion) / (len(counts) + weight)
    return Baseline(tuple(slots), overdispersion, rate, len(counts), zone.key)


def _fit(counts: Sequence[float], slots_of: Sequence[int], prior: BaselinePrior) -> tuple[float, list[float]]:
    hours = len(counts)
    rate = (sum(counts) + prior.rate * prior.hours) / (hours + prior.hours)
    by_hour, n_hour = [0.0] * 24, [0] * 24
    by_day, n_day = [0.0] * 7, [0] * 7
    by_slot, n_slot = [0.0] * HOURS_PER_WEEK, [0] * HOURS_PER_WEEK
    for count, slot in zip(counts, slots_of, strict=True):
        by_hour[slot % 24] += count
        n_hour[slot % 24] += 1
        by_day[slot // 24] += count
        n_day[slot // 24] += 1
        by_slot[slot] += count
        n_slot[slot] += 1
    k = prior.profile_strength
    hour_factor = [(by_hour[h] + k * rate) / (n_hour[h] * rate + k * rate) for h in range(24)]
    # The day factor is measured against what the hour factors already predict for that day's hours.
    predicted_day = [0.0] * 7
    for slot in slots_of:
        predicted_day[slot // 24] += rate * hour_factor[slot % 24]
    kd = prior.day_strength
    day_factor = [(by_day[d] + kd * rate) / (predicted_day[d] + kd * rate) for d in range(7)]
    slots = []
    for slot in range(HOURS_PER_WEEK):
        model = rate * hour_factor[slot % 24] * day_factor[slot // 24]
        slots.append((by_slot[slot] + prior.slot_strength * model) / (n_slot[slot] + prior.slot_strength))
    return rate, slots
