"""Adaptive concurrency per upstream key: back off 20% on pressure, creep back +1 per interval.

Pressure is a provider 429 or our own utilisation of the key crossing a threshold. The current
limit is computed lazily from the injected clock, so no timer task is needed.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

from portico.limits.base import Clock, LimitRule


@dataclass(frozen=True, slots=True)
class AdaptiveConfig:
    max_concurrency: int
    min_concurrency: int = 1
    cut_factor: float = 0.8          # keep 80% of the limit on a cut
    high_utilisation: float = 0.8    # utilisation at which we cut
    clean_interval: float = 10.0     # seconds without pressure before each +1 (and cut cooldown)

    def __post_init__(self) -> None:
        if not 1 <= self.min_concurrency <= self.max_concurrency:
            raise ValueError("need 1 <= min_concurrency <= max_concurrency")
        if not 0 < self.cut_factor < 1:
            raise ValueError("cut_factor must be in (0, 1)")


class AdaptiveConcurrency:
    """The admitted concurrency of one upstream key."""

    def __init__(self, config: AdaptiveConfig, *, clock: Clock = time.monotonic) -> None:
        self.config = config
        self._clock = clock
        self._limit = config.max_concurrency
        self._calm_since = clock()      # last pressure (or last +1 step)
        self._last_rule: tuple[LimitRule, LimitRule] | None = None
        self._last_cut = -math.inf

    @property
    def limit(self) -> int:
        now = self._clock()
        cfg = self.config
        steps = math.floor((now - self._calm_since) / cfg.clean_interval)
        if steps > 0:
            self._calm_since += steps * cfg.clean_interval
            self._limit = min(cfg.max_concurrency, self._limit + steps)
        return self._limit

    def on_rate_limited(self) -> None:
        """The provider answered 429 for this key."""
        self._pressure()

    def observe(self, utilisation: float) -> None:
        """Report the key's current utilisation (0..1), e.g. from `Limiter.usage`."""
        if utilisation >= self.config.high_utilisation:
            self._pressure()

    def rule(self, base: LimitRule) -> LimitRule:
        """`base` (a concurrency rule) with the current adaptive capacity."""
        capacity = min(base.capacity, self.limit)
        last = self._last_rule
        if last is not None and last[0] is base and last[1].capacity == capacity:
            return last[1]   # built once per (base, limit), not per request
        rule = replace(base, capacity=capacity)
        self._last_rule = (base, rule)
        return rule

    def _pressure(self) -> None:
        current = self.limit
        now = self._clock()
        self._calm_since = now
        # One cut per interval: a burst of 429s from one overload is one signal, not ten.
        if now - self._last_cut < self.config.clean_interval:
            return
        self._last_cut = now
        cut = min(current - 1, math.floor(current * self.config.cut_factor))
        self._limit = max(self.config.min_concurrency, cut)


class AdaptiveRegistry:
    """One `AdaptiveConcurrency` per upstream key scope, created on first use."""

    def __init__(self, *, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._by_scope: dict[str, AdaptiveConcurrency] = {}

    def get(self, scope: str, config: AdaptiveConfig) -> AdaptiveConcurrency:
        found = self._by_scope.get(scope)
        if found is None or found.config != config:
            found = self._by_scope[scope] = AdaptiveConcurrency(config, clock=self._clock)
        return found
