"""The one concrete `Reservation`: holds its entries and hands them back to its backend once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from portico.limits._plan import Entry, refund_for
from portico.limits.base import Amounts, Clock

# (entries, refunds aligned with entries, lease member, now) -> applied in the backend
Apply = Callable[[Sequence[Entry], Sequence[int], str, float], Awaitable[None]]


class HeldReservation:
    """Capacity taken by one `reserve`; the first settle/release wins, later calls are no-ops."""

    __slots__ = ("_apply", "_clock", "_done", "entries", "member")

    def __init__(self, entries: Sequence[Entry], member: str, apply: Apply, clock: Clock) -> None:
        self.entries = tuple(entries)
        self.member = member
        self._apply = apply
        self._clock = clock
        self._done = False

    @property
    def done(self) -> bool:
        return self._done

    async def settle(self, actual: Amounts, *, now: float | None = None) -> None:
        await self._finish(actual, now)

    async def release(self, *, now: float | None = None) -> None:
        await self._finish(None, now)

    async def _finish(self, actual: Amounts | None, now: float | None) -> None:
        if self._done:
            return
        # Marked before the await so a concurrent second call cannot give capacity back twice.
        self._done = True
        refunds = [refund_for(e, actual) for e in self.entries]
        await self._apply(self.entries, refunds, self.member, self._clock() if now is None else now)
