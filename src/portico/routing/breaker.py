"""Circuit breakers per deployment (upstream key x model): closed, open, half-open.

Opens when the failure rate over a window passes a threshold (with a minimum call count) or
after N consecutive failures; after the open period one probe is let through (half-open): its
success closes the breaker, its failure opens it again. Counts live in fixed time buckets, so
recording a call is O(1) whatever the traffic.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from portico.clock import Clock
from portico.config.model import BreakerConfig

BUCKETS = 10


class State(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class BreakerView:
    deployment: str
    state: str
    consecutive_failures: int
    window_calls: int
    window_failures: int
    open_remaining: float
    opened_count: int = 0


class Breaker:
    __slots__ = ("_calls", "_cfg", "_consecutive", "_fails", "_opened_at", "_opened_count",
                 "_probe", "_slot", "_state", "_total_calls", "_total_fails", "_width")

    def __init__(self, cfg: BreakerConfig) -> None:
        self._cfg = cfg
        self._state = State.CLOSED
        self._width = max(cfg.window_seconds / BUCKETS, 1e-3)
        self._calls = [0] * BUCKETS
        self._fails = [0] * BUCKETS
        self._slot = -1
        self._total_calls = 0
        self._total_fails = 0
        self._consecutive = 0
        self._opened_at = 0.0
        self._opened_count = 0
        self._probe = False

    def _roll(self, now: float) -> int:
        slot = int(now / self._width)
        last = self._slot
        if slot != last:
            if last < 0 or slot - last >= BUCKETS:
                self._reset_window()
            else:
                for s in range(last + 1, slot + 1):
                    i = s % BUCKETS
                    self._total_calls -= self._calls[i]
                    self._total_fails -= self._fails[i]
                    self._calls[i] = self._fails[i] = 0
            self._slot = slot
        return slot % BUCKETS

    def _reset_window(self) -> None:
        self._calls = [0] * BUCKETS
        self._fails = [0] * BUCKETS
        self._total_calls = self._total_fails = 0

    def state(self, now: float) -> State:
        if self._state is State.OPEN and now - self._opened_at >= self._cfg.open_seconds:
            self._state = State.HALF_OPEN
            self._probe = False
        return self._state

    def remaining_open(self, now: float) -> float:
        if self.state(now) is not State.OPEN:
            return 0.0
        return self._cfg.open_seconds - (now - self._opened_at)

    def allow(self, now: float) -> bool:
        """Whether a request may go now; in half-open only one probe at a time.

        A caller that got True must end with `record` or, if it sent nothing, `release`."""
        state = self._state
        if state is State.CLOSED:
            return True
        state = self.state(now)
        if state is State.HALF_OPEN and not self._probe:
            self._probe = True
            return True
        return False

    def release(self) -> None:
        """The permitted call was never sent (capacity, budget, cancel): free the probe."""
        self._probe = False

    def record(self, now: float, ok: bool) -> None:
        if self.state(now) is State.HALF_OPEN:
            self._probe = False
            if ok:
                self._state, self._consecutive = State.CLOSED, 0
                self._reset_window()
            else:
                self._open(now)
            return
        if self._state is State.OPEN:
            return  # a call admitted before the breaker opened; it proves nothing new
        i = self._roll(now)
        self._calls[i] += 1
        self._total_calls += 1
        if ok:
            self._consecutive = 0
            return
        self._fails[i] += 1
        self._total_fails += 1
        self._consecutive += 1
        cfg = self._cfg
        if self._consecutive >= cfg.consecutive_failures or (
            self._total_calls >= cfg.min_calls
            and self._total_fails >= cfg.failure_rate * self._total_calls
        ):
            self._open(now)

    def _open(self, now: float) -> None:
        self._state, self._opened_at, self._probe = State.OPEN, now, False
        self._opened_count += 1

    def view(self, deployment: str, now: float) -> BreakerView:
        self._roll(now)
        return BreakerView(
            deployment=deployment, state=self.state(now).value,
            consecutive_failures=self._consecutive, window_calls=self._total_calls,
            window_failures=self._total_fails,
            open_remaining=round(self.remaining_open(now), 3), opened_count=self._opened_count,
        )


class BreakerBoard:
    """All breakers of one gateway process, created on first use per deployment."""

    def __init__(self, cfg: BreakerConfig, clock: Clock) -> None:
        self._cfg = cfg
        self._clock = clock
        self._breakers: dict[str, Breaker] = {}

    def get(self, deployment: str) -> Breaker:
        b = self._breakers.get(deployment)
        if b is None:
            b = self._breakers[deployment] = Breaker(self._cfg)
        return b

    def now(self) -> float:
        return self._clock.monotonic()

    def views(self) -> list[BreakerView]:
        now = self.now()
        return [b.view(d, now) for d, b in sorted(self._breakers.items())]
