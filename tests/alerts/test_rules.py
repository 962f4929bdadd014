"""The alert rules and their statistics: what counts as urgent, as a spike and as a sentiment turn."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from bot.alerts.rules import AnswerRule, SentimentRule, SpikeRule, needs_answer, normal_share, sentiment_turn, spike
from bot.alerts.stats import binom_sf, fit_baseline, nbinom_sf, poisson_sf
from storage.alert_queries import StoredPost

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def stored(cx: str = "complaint", followers: int = 10, reactions: int = 0) -> StoredPost:
    return StoredPost(1, "Acme", "https://m.example/s/1", "https://m.example/@a/1", "mastodon", "https://m.example",
                      "alice", followers, NOW, "acme broke my order", "", "negative", cx, reactions, 0, 0)


def test_a_complaint_from_a_large_audience_needs_an_answer_now() -> None:
    found = needs_answer(stored(followers=25_000), AnswerRule(followers=1000))
    assert found is not None and found.figures["reasons"] == ["reach"]


def test_a_question_that_is_already_drawing_reactions_needs_an_answer_now() -> None:
    found = needs_answer(stored(cx="question", reactions=15), AnswerRule(engagement=10))
    assert found is not None and found.figures["reasons"] == ["engagement"]


def test_a_small_complaint_waits_for_the_digest_unless_the_brand_wants_every_complaint() -> None:
    assert needs_answer(stored(), AnswerRule()) is None
    assert needs_answer(stored(), AnswerRule(any_complaint=True)) is not None
    assert needs_answer(stored(cx="praise", followers=10**6), AnswerRule(any_complaint=True)) is None


def test_a_post_has_one_alert_key_whichever_brand_found_it() -> None:
    one = needs_answer(stored(followers=10**5), AnswerRule())
    other = needs_answer(dataclasses.replace(stored(followers=10**5), brand="Other"), AnswerRule())
    assert one is not None and other is not None and one.key == other.key


def test_three_times_the_normal_hour_is_a_spike_but_a_busy_normal_hour_is_not() -> None:
    rule = SpikeRule(alpha=1e-4, min_count=8)
    assert spike("Acme", 30, 10.0, 0.0, NOW, rule) is not None
    assert spike("Acme", 16, 10.0, 0.0, NOW, rule) is None


def test_a_spike_needs_a_minimum_count_however_quiet_the_brand_usually_is() -> None:
    assert spike("Acme", 5, 0.05, 0.0, NOW, SpikeRule(min_count=8)) is None


def test_a_bursty_brand_needs_a_larger_count_for_the_same_alarm() -> None:
    rule = SpikeRule(alpha=1e-4)
    assert spike("Acme", 25, 10.0, 0.0, NOW, rule) is not None
    assert spike("Acme", 25, 10.0, 0.3, NOW, rule) is None


def test_a_negative_run_far_above_the_brand_normal_is_a_sentiment_turn() -> None:
    rule = SentimentRule(alpha=1e-3, min_posts=10, min_lift=0.2)
    assert sentiment_turn("Acme", 12, 16, 0.15, NOW, rule) is not None
    assert sentiment_turn("Acme", 4, 16, 0.15, NOW, rule) is None
    assert sentiment_turn("Acme", 6, 6, 0.15, NOW, rule) is None, "too few posts to mean anything"


def test_a_brand_without_history_is_assumed_to_have_the_usual_negative_share() -> None:
    assert normal_share(0, 0) == 0.2
    assert abs(normal_share(500, 1000) - 0.5) < 0.01


@given(st.integers(0, 60), st.floats(0.01, 40))
def test_the_poisson_tail_and_its_complement_add_up_to_one(k: int, mean: float) -> None:
    below = sum(math.exp(j * math.log(mean) - mean - math.lgamma(j + 1)) for j in range(k))
    assert math.isclose(poisson_sf(k, mean) + below, 1.0, rel_tol=1e-9, abs_tol=1e-12)


@given(st.integers(0, 60), st.floats(0.1, 30), st.floats(0.01, 2))
def test_the_negative_binomial_tail_is_wider_than_the_poisson_tail_past_the_mean(k: int, mean: float,
                                                                                  overdispersion: float) -> None:
    if k > 2 * mean + 3:
        assert nbinom_sf(k, mean, overdispersion) >= poisson_sf(k, mean)
    assert 0.0 <= nbinom_sf(k, mean, overdispersion) <= 1.0


@given(st.integers(1, 40), st.floats(0.01, 0.99))
def test_the_binomial_tail_sums_the_probabilities_from_k_on(n: int, p: float) -> None:
    total = sum(math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(n + 1))
    assert math.isclose(binom_sf(0, n, p), 1.0) and math.isclose(total, 1.0)
    for k in range(n + 1):
        exact = sum(math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(k, n + 1))
        assert math.isclose(binom_sf(k, n, p), exact, rel_tol=1e-9, abs_tol=1e-15)


def test_the_baseline_learns_that_nights_are_quiet_and_weekends_slow() -> None:
    zone = ZoneInfo("Europe/Amsterdam")
    start = datetime(2026, 2, 2, 0, 0, tzinfo=zone).astimezone(UTC)  # a Monday, local midnight
    counts = []
    for hour in range(28 * 24):
        local = (start + timedelta(hours=hour)).astimezone(zone)
        rate = 10 if 9 <= local.hour < 18 else 1
        counts.append(rate // 2 if local.weekday() >= 5 else rate)
    baseline = fit_baseline(counts, start, zone)
    tuesday_noon = datetime(2026, 3, 3, 12, tzinfo=zone)
    tuesday_night = datetime(2026, 3, 3, 3, tzinfo=zone)
    sunday_noon = datetime(2026, 3, 8, 12, tzinfo=zone)
    assert 8 < baseline.expected(tuesday_noon) < 11
    assert baseline.expected(tuesday_night) < 2
    assert 3.5 < baseline.expected(sunday_noon) < 7


def test_a_brand_without_history_is_measured_against_a_modest_rate_not_against_zero() -> None:
    baseline = fit_baseline([], NOW, ZoneInfo("UTC"))
    assert baseline.expected(NOW) == 1.0 and baseline.overdispersion == 0.2
    assert spike("New", 12, baseline.expected(NOW), baseline.overdispersion, NOW, SpikeRule()) is not None
    assert spike("New", 8, baseline.expected(NOW), baseline.overdispersion, NOW, SpikeRule()) is None


def test_a_past_spike_in_the_history_barely_raises_the_bar_for_the_next() -> None:
    zone = ZoneInfo("UTC")
    start = NOW - timedelta(days=28)
    calm = [5] * (28 * 24)
    spiky = list(calm)
    spiky[24 * 21 + 12] = 200  # three weeks ago at this hour
    assert fit_baseline(spiky, start, zone).expected(NOW) < 1.5 * fit_baseline(calm, start, zone).expected(NOW)
