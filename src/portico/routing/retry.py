"""The one backoff: full-jitter exponential delays, Retry-After honoured, and a retry budget.

The budget is Finagle-style: retries (and failovers) within a sliding window may not exceed
`ratio` of the requests seen in that window, with a small floor so a lone client can still
retry. Under a total outage this holds attempts per request near 1 + ratio.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from portico.clock import Clock

# The provider asked for a wait: a little jitter on top keeps clients from re-synchronizing.
RETRY_AFTER_JITTER = 0.25


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    base: float = 0.5
    cap: float = 60.0

    def delay(self, retry_index: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds before retry number `retry_index` (0-based).

        Without Retry-After: full jitter, uniform in [0, min(cap, base * 2**i)]. With it: the
        advertised wait plus up to 25% (at most one base) of jitter; it may exceed `cap`, which
        the caller treats as "do not wait here, fail over" rather than retrying early."""
        if retry_after is not None:
            return retry_after + rng.uniform(0.0, min(self.base, retry_after * RETRY_AFTER_JITTER))
        ceiling = min(self.cap, self.base * (2 ** min(retry_index, 32)))
        return rng.uniform(0.0, ceiling)


class RetryBudget:
    """Gateway-wide cap on retries as a share of recent requests (counted per second).

    Buckets of one second keep the cost O(1) per call and the memory fixed, whatever the rate.
    Allowed retries in the window = max(floor, ratio x requests in the window)."""

    __slots__ = ("_buckets", "_clock", "_floor", "_ratio", "_req", "_ret", "_slot_sec",
                 "_total_req", "_total_ret")

    def __init__(self, clock: Clock, *, ratio: float = 0.2, window: float = 10.0,
                 min_per_second: float = 1.0) -> None:
        self._clock = clock
        self._ratio = ratio
        self._buckets = max(1, int(window))
        self._floor = min_per_second * self._buckets
        self._req = [0] * self._buckets
        self._ret = [0] * self._buckets
        self._slot_sec = -1
        self._total_req = 0
        self._total_ret = 0

    def _roll(self) -> int:
        sec = int(self._clock.monotonic())
        last = self._slot_sec
        if sec != last:
            n = self._buckets
            if last < 0 or sec - last >= n:
                self._req = [0] * n
                self._ret = [0] * n
                self._total_req = self._total_ret = 0
            else:
                for s in range(last + 1, sec + 1):
                    i = s % n
                    self._total_req -= self._req[i]
                    self._total_ret -= self._ret[i]
                    self._req[i] = self._ret[i] = 0
            self._slot_sec = sec
        return sec % self._buckets

    def on_request(self) -> None:
        i = self._roll()
        self._req[i] += 1
        self._total_req += 1

    def try_withdraw(self) -> bool:
        i = self._roll()
        if self._total_ret + 1 > max(self._floor, self._ratio * self._total_req):
            return False
        self._ret[i] += 1
        self._total_ret += 1
        return True

    def snapshot(self) -> tuple[int, int]:
        """(requests, retries) in the current window, for tests and the admin view."""
        self._roll()
        return self._total_req, self._total_ret
