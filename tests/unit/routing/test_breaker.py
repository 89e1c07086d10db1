"""Breaker transitions: consecutive failures, failure rate with a minimum, half-open probe."""

from __future__ import annotations

from portico.config.model import BreakerConfig
from portico.routing.breaker import Breaker, State

CFG = BreakerConfig(failure_rate=0.5, min_calls=10, window_seconds=60.0,
                    consecutive_failures=5, open_seconds=30.0)


def test_opens_after_consecutive_failures() -> None:
    b = Breaker(CFG)
    for i in range(4):
        b.record(float(i), ok=False)
    assert b.state(4.0) is State.CLOSED
    b.record(4.0, ok=False)
    assert b.state(4.0) is State.OPEN and not b.allow(5.0)
    assert b.remaining_open(10.0) == 24.0


def test_opens_on_failure_rate_only_past_min_calls() -> None:
    b = Breaker(CFG)
    for i in range(8):                       # ok, fail alternating: 50% but few calls
        b.record(float(i), ok=i % 2 == 0)
    assert b.state(8.0) is State.CLOSED
    b.record(8.0, ok=True)
    b.record(9.0, ok=False)                  # 10 calls, 5 failures
    assert b.state(9.0) is State.OPEN


def test_old_calls_leave_the_window() -> None:
    b = Breaker(CFG)
    for i in range(4):
        b.record(float(i), ok=False)
    b.record(4.0, ok=True)
    for i in range(5):
        b.record(100.0 + i, ok=i % 2 == 0)   # the early failures are out of the window
    assert b.state(105.0) is State.CLOSED
    assert b.view("d", 105.0).window_calls == 5


def test_half_open_lets_exactly_one_probe() -> None:
    b = Breaker(CFG)
    for i in range(5):
        b.record(float(i), ok=False)
    assert not b.allow(20.0)
    assert b.allow(40.0) and not b.allow(40.0)        # one probe only
    b.record(41.0, ok=False)
    assert b.state(41.0) is State.OPEN                # the probe failed: open again
    assert b.allow(72.0)
    b.record(72.5, ok=True)
    assert b.state(73.0) is State.CLOSED and b.allow(73.0)


def test_unsent_probe_is_released() -> None:
    b = Breaker(CFG)
    for i in range(5):
        b.record(float(i), ok=False)
    assert b.allow(40.0)
    b.release()                                       # e.g. capacity said no
    assert b.allow(40.5)
