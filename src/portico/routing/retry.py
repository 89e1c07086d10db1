"""The one backoff: full-jitter exponential delays, Retry-After honoured, and a retry budget.

The budget is Finagle-style: every request deposits `ratio` of a retry, every retry withdraws
one, plus a small floor per second so a lone client can still retry. Under a total outage this
holds attempts per request near 1 + ratio instead of multiplying load by max_attempts.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass

from portico.clock import Clock


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    base: float = 0.5
    cap: float = 60.0

    def delay(self, retry_index: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds before retry number `retry_index` (0-based); never above `cap`."""
        if retry_after is not None:
            # The provider said when; a little jitter on top keeps clients from re-syncing.
            return min(self.cap, retry_after + rng.uniform(0.0, min(1.0, self.base)))
        ceiling = min(self.cap, self.base * (2 ** retry_index))
        return rng.uniform(0.0, ceiling)


class RetryBudget:
    """Gateway-wide cap on retries as a share of requests over a sliding window."""

    def __init__(self, clock: Clock, *, ratio: float = 0.2, window: float = 10.0,
                 min_per_second: float = 1.0) -> None:
        self._clock = clock
        self._ratio = ratio
        self._window = window
        self._floor = min_per_second * window
        self._deposits: deque[float] = deque()
        self._withdrawals: deque[float] = deque()

    def _trim(self, now: float) -> None:
        edge = now - self._window
        while self._deposits and self._deposits[0] < edge:
            self._deposits.popleft()
        while self._withdrawals and self._withdrawals[0] < edge:
            self._withdrawals.popleft()

    def on_request(self) -> None:
        now = self._clock.monotonic()
        self._trim(now)
        self._deposits.append(now)

    def try_withdraw(self) -> bool:
        now = self._clock.monotonic()
        self._trim(now)
        allowed = self._floor + self._ratio * len(self._deposits)
        if len(self._withdrawals) + 1 > allowed:
            return False
        self._withdrawals.append(now)
        return True
