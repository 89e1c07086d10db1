"""Backoff (full jitter, Retry-After) and the gateway-wide retry budget."""

from __future__ import annotations

import random

from portico.clock import ManualClock
from portico.routing.retry import BackoffPolicy, RetryBudget


def test_full_jitter_stays_under_the_exponential_ceiling() -> None:
    policy, rng = BackoffPolicy(base=0.5, cap=60.0), random.Random(1)
    for i in range(12):
        ceiling = min(60.0, 0.5 * 2 ** i)
        delays = [policy.delay(i, None, rng) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8 and min(delays) < ceiling * 0.2


def test_retry_after_is_honoured_with_small_jitter() -> None:
    policy, rng = BackoffPolicy(base=0.5, cap=60.0), random.Random(2)
    assert all(3.0 <= policy.delay(0, 3.0, rng) <= 3.5 for _ in range(100))
    assert policy.delay(0, 0.0, rng) == 0.0
    assert policy.delay(0, 120.0, rng) > policy.cap      # the caller fails over instead


def test_budget_holds_retries_to_the_ratio() -> None:
    clock = ManualClock()
    budget = RetryBudget(clock, ratio=0.2, window=10.0, min_per_second=1.0)
    for _ in range(1000):
        budget.on_request()
    granted = sum(budget.try_withdraw() for _ in range(1000))
    assert granted == 200


def test_budget_floor_lets_a_lone_client_retry() -> None:
    clock = ManualClock()
    budget = RetryBudget(clock, ratio=0.2, window=10.0, min_per_second=1.0)
    budget.on_request()
    assert sum(budget.try_withdraw() for _ in range(50)) == 10


def test_budget_window_slides() -> None:
    clock = ManualClock()
    budget = RetryBudget(clock, ratio=0.5, window=10.0, min_per_second=0.1)
    for _ in range(100):
        budget.on_request()
    assert sum(budget.try_withdraw() for _ in range(100)) == 50
    clock.advance(11.0)
    assert budget.snapshot() == (0, 0)
    assert sum(budget.try_withdraw() for _ in range(10)) == 1   # only the floor is left
