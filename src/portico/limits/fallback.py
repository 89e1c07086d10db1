"""Keeps limits working when Redis is down: rate rules fall back to a per-process share.

`share` should be 1 / (expected replicas): with N processes each admitting capacity/N, the
fleet as a whole still respects the limit. Budgets fail closed unless `budget_fail_open`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from portico.limits.base import (
    Amounts,
    Clock,
    Denied,
    DenyReason,
    Limiter,
    LimiterUnavailable,
    LimitKind,
    LimitRule,
    Reservation,
)

_log = logging.getLogger(__name__)


class _Guarded:
    """A primary reservation whose settle/release must not fail the request if Redis died
    meanwhile: leases then expire on their own and budgets stay charged at the worst case."""

    __slots__ = ("_inner",)

    def __init__(self, inner: Reservation) -> None:
        self._inner = inner

    @property
    def done(self) -> bool:
        return self._inner.done

    async def settle(self, actual: Amounts, *, now: float | None = None) -> None:
        try:
            await self._inner.settle(actual, now=now)
        except LimiterUnavailable:
            _log.warning("limiter settle lost (store unavailable); leases expire by TTL")

    async def release(self, *, now: float | None = None) -> None:
        try:
            await self._inner.release(now=now)
        except LimiterUnavailable:
            _log.warning("limiter release lost (store unavailable); leases expire by TTL")


class FallbackLimiter:
    """`primary` (Redis) while it answers; `fallback` (memory) with scaled rules when it does not.

    After a failure the primary is skipped for `retry_primary_after` seconds so a dead Redis
    costs one timeout per interval, not one per request.
    """

    def __init__(self, primary: Limiter, fallback: Limiter, *, share: float,
                 budget_fail_open: bool = False, retry_primary_after: float = 1.0,
                 clock: Clock = time.time) -> None:
        if not 0 < share <= 1:
            raise ValueError("share must be in (0, 1]")
        self._primary = primary
        self._fallback = fallback
        self.share = share
        self.budget_fail_open = budget_fail_open
        self._retry_after = retry_primary_after
        self._clock = clock
        self._down_until = float("-inf")

    @property
    def degraded(self) -> bool:
        return self._clock() < self._down_until

    def _mark_down(self, exc: LimiterUnavailable) -> None:
        if not self.degraded:   # once per outage: every call in flight fails together
            _log.warning("limiter primary unavailable, serving local shares: %s", exc.message)
        self._down_until = self._clock() + self._retry_after

    async def reserve(self, rules: Sequence[LimitRule], amounts: Amounts, *,
                      now: float | None = None) -> Reservation | Denied:
        result = await self.reserve_groups(((rules, amounts),), now=now)
        return result if isinstance(result, Denied) else result[0]

    async def reserve_groups(self, groups: Sequence[tuple[Sequence[LimitRule], Amounts]], *,
                             now: float | None = None) -> Sequence[Reservation] | Denied:
        if not self.degraded:
            try:
                if len(groups) == 1:   # the plain call, which every Limiter has always had
                    one = await self._primary.reserve(*groups[0], now=now)
                    result: Sequence[Reservation] | Denied = one if isinstance(one, Denied) \
                        else [one]
                else:
                    result = await self._primary.reserve_groups(groups, now=now)
            except LimiterUnavailable as exc:
                self._mark_down(exc)
            else:
                return result if isinstance(result, Denied) else [_Guarded(r) for r in result]
        local: list[tuple[Sequence[LimitRule], Amounts]] = []
        for rules, amounts in groups:
            scaled: list[LimitRule] = []
            for rule in rules:
                if rule.key.kind is not LimitKind.BUDGET:
                    scaled.append(rule.scaled(self.share))
                elif not self.budget_fail_open:
                    return Denied(rule.key, self._retry_after, DenyReason.UNAVAILABLE)
            local.append((scaled, amounts))
        if len(local) == 1:
            one = await self._fallback.reserve(*local[0], now=now)
            return one if isinstance(one, Denied) else [one]
        return await self._fallback.reserve_groups(local, now=now)

    async def usage(self, rule: LimitRule, *, now: float | None = None) -> float:
        if not self.degraded:
            try:
                return await self._primary.usage(rule, now=now)
            except LimiterUnavailable as exc:
                self._mark_down(exc)
        return await self._fallback.usage(rule.scaled(self.share), now=now)

    async def correct(self, rule: LimitRule, remaining: int, *, now: float | None = None) -> None:
        if not self.degraded:
            try:
                await self._primary.correct(rule, remaining, now=now)
                return
            except LimiterUnavailable as exc:
                self._mark_down(exc)
        await self._fallback.correct(rule.scaled(self.share), remaining, now=now)
