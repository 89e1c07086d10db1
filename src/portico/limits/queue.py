"""Priority waiting for capacity: high before normal before low, low held back under pressure.

While nobody waits, a request tries the limiter at once. Otherwise waiters queue in
(priority, arrival) order and only the head tries the limiter; it is woken by a
settle/release through this gate, by the departure of the waiter ahead, or by a timer set to the
denial's `retry_after` (capacity freed by other processes). Clock and sleep are injected.
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from portico.limits.base import (
    Amounts,
    Clock,
    Denied,
    Limiter,
    LimitKind,
    LimitRule,
    Reservation,
    Sleep,
)


class Priority(enum.IntEnum):
    HIGH = 0
    NORMAL = 1
    LOW = 2


@dataclass(order=True, slots=True)
class _Waiter:
    priority: Priority
    seq: int
    event: asyncio.Event = field(compare=False, default_factory=asyncio.Event)


class _GateReservation:
    """Wakes the gate's head waiter when capacity comes back."""

    __slots__ = ("_gate", "_inner")

    def __init__(self, inner: Reservation, gate: PriorityGate) -> None:
        self._inner = inner
        self._gate = gate

    @property
    def done(self) -> bool:
        return self._inner.done

    async def settle(self, actual: Amounts, *, now: float | None = None) -> None:
        try:
            await self._inner.settle(actual, now=now)
        finally:
            self._gate.wake()

    async def release(self, *, now: float | None = None) -> None:
        try:
            await self._inner.release(now=now)
        finally:
            self._gate.wake()


class PriorityGate:
    """Admission in front of a `Limiter` for one upstream key (or one set of shared rules)."""

    def __init__(self, limiter: Limiter, *, clock: Clock = time.time,
                 sleep: Sleep = asyncio.sleep, max_wait: float = 30.0,
                 low_threshold: float = 0.8, recheck_seconds: float = 1.0) -> None:
        self._limiter = limiter
        self._clock = clock
        self._sleep = sleep
        self.max_wait = max_wait
        self.low_threshold = low_threshold
        self._recheck = recheck_seconds
        self._waiters: list[_Waiter] = []
        self._seq = itertools.count()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def wake(self) -> None:
        if self._waiters:
            min(self._waiters).event.set()

    async def acquire(self, rules: Sequence[LimitRule], amounts: Amounts,
                      priority: Priority = Priority.NORMAL, *,
                      max_wait: float | None = None) -> Reservation | Denied:
        """A reservation, or the last denial once `max_wait` seconds have passed."""
        if not self._waiters and priority is not Priority.LOW:
            # The common case, without acquire_with's lists; a denial joins the queue.
            one = await self._limiter.reserve(rules, amounts)
            if not isinstance(one, Denied):
                return _GateReservation(one, self)
            result = await self._queued([(rules, amounts)], priority, max_wait)
        else:
            result = await self.acquire_with(rules, amounts, None, priority, max_wait=max_wait)
        return result if isinstance(result, Denied) else result[0]

    async def acquire_with(self, rules: Sequence[LimitRule], amounts: Amounts,
                           also: tuple[Sequence[LimitRule], Amounts] | None,
                           priority: Priority = Priority.NORMAL, *,
                           max_wait: float | None = None) -> Sequence[Reservation] | Denied:
        """As `acquire`, reserving `also` (another scope's rules, e.g. the client's inbound
        limits) in the same atomic call: one reservation per group, or the last denial. Only
        `rules` count for holding low priority back."""
        groups = [(rules, amounts)] if also is None else [(rules, amounts), also]
        if not self._waiters:
            # Nobody is queued: try at once, concurrently with other such tries (each is atomic
            # in the limiter). Serialising every admission behind the head cost a wake-up,
            # two futures and a timer per request; the queue now orders only requests that
            # met a denial (or arrived while one was waiting), in arrival order.
            first = await self._try(groups, priority)
            if not isinstance(first, Denied):
                return first
        return await self._queued(groups, priority, max_wait)

    async def _queued(self, groups: Sequence[tuple[Sequence[LimitRule], Amounts]],
                      priority: Priority, max_wait: float | None
                      ) -> Sequence[Reservation] | Denied:
        """Wait in (priority, arrival) order, trying whenever this waiter is the head."""
        deadline = self._clock() + (self.max_wait if max_wait is None else max_wait)
        waiter = _Waiter(priority, next(self._seq))
        self._waiters.append(waiter)
        last: Denied | None = None
        try:
            while True:
                waiter.event.clear()  # before trying, so a wake during the attempt is kept
                timer: float | None = None
                if min(self._waiters) is waiter:
                    result = await self._try(groups, priority)
                    if not isinstance(result, Denied):
                        return result
                    last, timer = result, result.retry_after
                remaining = deadline - self._clock()
                if remaining <= 0:
                    return last if last is not None else Denied(groups[0][0][0].key,
                                                                self._recheck)
                await self._wait(waiter.event, remaining if timer is None
                                 else min(max(timer, 0.0), remaining))
        finally:
            self._waiters.remove(waiter)
            self.wake()

    async def _try(self, groups: Sequence[tuple[Sequence[LimitRule], Amounts]],
                   priority: Priority) -> Sequence[Reservation] | Denied:
        if priority is Priority.LOW:
            for rule in groups[0][0]:
                if rule.key.kind is LimitKind.BUDGET:
                    continue
                if await self._limiter.usage(rule) >= self.low_threshold:
                    return Denied(rule.key, self._recheck)
        if len(groups) == 1:
            one = await self._limiter.reserve(*groups[0])
            return one if isinstance(one, Denied) else [_GateReservation(one, self)]
        result = await self._limiter.reserve_groups(groups)
        if isinstance(result, Denied):
            return result
        return [_GateReservation(r, self) for r in result]

    async def _wait(self, event: asyncio.Event, timeout: float) -> None:
        woken = asyncio.ensure_future(event.wait())
        timer = asyncio.ensure_future(self._sleep(timeout))
        try:
            await asyncio.wait((woken, timer), return_when=asyncio.FIRST_COMPLETED)
        finally:
            woken.cancel()
            timer.cancel()
