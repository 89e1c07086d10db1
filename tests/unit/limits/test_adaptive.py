from __future__ import annotations

import pytest

from portico.limits import LimitKey, LimitKind, LimitRule
from portico.limits.adaptive import AdaptiveConcurrency, AdaptiveConfig, AdaptiveRegistry


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def make(max_c: int = 10) -> tuple[AdaptiveConcurrency, Clock]:
    clock = Clock()
    return AdaptiveConcurrency(AdaptiveConfig(max_c, clean_interval=10.0), clock=clock), clock


def test_429_cuts_by_a_fifth_once_per_interval() -> None:
    ac, clock = make(10)
    ac.on_rate_limited()
    assert ac.limit == 8
    ac.on_rate_limited()  # same overload: no second cut inside the cooldown
    assert ac.limit == 8
    clock.t += 10  # one clean interval restores +1 (9) before the next cut
    ac.on_rate_limited()
    assert ac.limit == 7


def test_high_utilisation_cuts_low_does_not() -> None:
    ac, _ = make(10)
    ac.observe(0.79)
    assert ac.limit == 10
    ac.observe(0.8)
    assert ac.limit == 8


def test_restores_one_per_clean_interval() -> None:
    ac, clock = make(10)
    ac.on_rate_limited()
    clock.t += 5
    ac.observe(0.9)  # pressure inside the cooldown: no cut, but the clean clock restarts
    assert ac.limit == 8
    clock.t += 9.9
    assert ac.limit == 8
    clock.t += 0.1
    assert ac.limit == 9
    clock.t += 10
    assert ac.limit == 10
    clock.t += 100
    assert ac.limit == 10


def test_never_below_minimum() -> None:
    clock = Clock()
    ac = AdaptiveConcurrency(AdaptiveConfig(2), clock=clock)
    ac.on_rate_limited()
    assert ac.limit == 1  # floor(1.6) = 1: small limits still shrink
    clock.t += 60
    ac.on_rate_limited()
    assert ac.limit == 1
    floor2 = AdaptiveConcurrency(AdaptiveConfig(3, min_concurrency=2), clock=clock)
    floor2.on_rate_limited()
    clock.t += 10
    floor2.on_rate_limited()
    assert floor2.limit == 2


def test_rule_carries_the_adaptive_capacity() -> None:
    ac, _ = make(10)
    base = LimitRule(LimitKey("upstream-key:openai:main", LimitKind.CONCURRENCY), 10)
    ac.on_rate_limited()
    assert ac.rule(base).capacity == 8 and ac.rule(base).key == base.key


def test_registry_is_per_key() -> None:
    reg = AdaptiveRegistry(clock=Clock())
    cfg = AdaptiveConfig(5)
    a = reg.get("upstream-key:openai:a", cfg)
    assert reg.get("upstream-key:openai:a", cfg) is a
    assert reg.get("upstream-key:openai:b", cfg) is not a


def test_config_is_validated() -> None:
    with pytest.raises(ValueError):
        AdaptiveConfig(0)
    with pytest.raises(ValueError):
        AdaptiveConfig(4, cut_factor=1.0)
