"""Circuit breakers per deployment (upstream key x model): closed, open, half-open.

Opens when the failure rate over a window passes a threshold (with a minimum call count) or
after N consecutive failures; after the open period one probe is let through (half-open).
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass

from portico.clock import Clock
from portico.config.model import BreakerConfig


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


class Breaker:
    __slots__ = ("_calls", "_cfg", "_consecutive", "_opened_at", "_probe", "_state")

    def __init__(self, cfg: BreakerConfig) -> None:
        self._cfg = cfg
        self._state = State.CLOSED
        self._calls: deque[tuple[float, bool]] = deque()
        self._consecutive = 0
        self._opened_at = 0.0
        self._probe = False

    def _trim(self, now: float) -> None:
        edge = now - self._cfg.window_seconds
        while self._calls and self._calls[0][0] < edge:
            self._calls.popleft()

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
        """Whether a request may go; in half-open only one probe at a time."""
        state = self.state(now)
        if state is State.CLOSED:
            return True
        if state is State.HALF_OPEN and not self._probe:
            self._probe = True
            return True
        return False

    def record(self, now: float, ok: bool) -> None:
        if self.state(now) is State.HALF_OPEN:
            self._probe = False
            if ok:
                self._state, self._consecutive = State.CLOSED, 0
                self._calls.clear()
            else:
                self._open(now)
            return
        self._trim(now)
        self._calls.append((now, ok))
        self._consecutive = 0 if ok else self._consecutive + 1
        if ok:
            return
        failures = sum(1 for _, good in self._calls if not good)
        if self._consecutive >= self._cfg.consecutive_failures or (
            len(self._calls) >= self._cfg.min_calls
            and failures / len(self._calls) >= self._cfg.failure_rate
        ):
            self._open(now)

    def _open(self, now: float) -> None:
        self._state, self._opened_at, self._probe = State.OPEN, now, False

    def view(self, deployment: str, now: float) -> BreakerView:
        self._trim(now)
        return BreakerView(
            deployment=deployment, state=self.state(now).value,
            consecutive_failures=self._consecutive, window_calls=len(self._calls),
            window_failures=sum(1 for _, good in self._calls if not good),
            open_remaining=round(self.remaining_open(now), 3),
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
