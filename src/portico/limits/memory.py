"""In-process limiter: exact within one process (no await between check and charge).

State lives in plain dicts keyed exactly like the Redis backend's keys; expired windows, periods
and leases are pruned lazily.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from portico.limits._plan import (
    CONCURRENCY_RETRY_HINT,
    Entry,
    entry_for,
    sliding_retry,
    worst,
)
from portico.limits._reservation import HeldReservation
from portico.limits.base import Amounts, Clock, Denied, DenyReason, LimitRule

_KEY_CACHE_MAX = 4096
_K = TypeVar("_K")
_V = TypeVar("_V")


@dataclass(slots=True)
class _Bucket:
    level: float
    ts: float
    full_at: float = 0.0  # when it refills completely (then the entry can be dropped)


@dataclass(slots=True)
class _Slots:
    """The leases on one concurrency key, with their running total: a check costs O(1), not a
    scan of every holder (expired leases are dropped when the earliest expiry has passed)."""

    members: dict[str, tuple[float, int]] = field(default_factory=dict)
    held: int = 0
    next_expiry: float = math.inf

    def count(self, t: float) -> int:
        if t >= self.next_expiry:
            for member in [m for m, (exp, _) in self.members.items() if exp <= t]:
                del self.members[member]
            self.held = sum(n for _, n in self.members.values())
            self.next_expiry = min((exp for exp, _ in self.members.values()), default=math.inf)
        return self.held

    def add(self, member: str, expires: float, n: int) -> None:
        self.members[member] = (expires, n)
        self.held += n
        self.next_expiry = min(self.next_expiry, expires)

    def remove(self, member: str) -> None:
        found = self.members.pop(member, None)
        if found is not None:
            self.held -= found[1]


class MemoryLimiter:
    """Token buckets, sliding windows, leased concurrency slots and budget counters in memory."""

    def __init__(self, *, clock: Clock = time.time, prefix: str = "mem") -> None:
        self._clock = clock
        self._prefix = prefix
        self._buckets: dict[str, _Bucket] = {}
        self._counters: dict[str, int] = {}
        self._counter_expiry: dict[str, float] = {}
        self._leases: dict[str, _Slots] = {}
        self._ids = itertools.count(1)
        self._next_prune = 0.0
        # State keys per rule: fixed ones by rule state, sliding windows' for the current window.
        self._fixed: dict[str, str] = {}
        self._windows: dict[tuple[str, float], tuple[int, str, str, float]] = {}

    async def reserve(self, rules: Sequence[LimitRule], amounts: Amounts, *,
                      now: float | None = None) -> HeldReservation | Denied:
        result = self._reserve(((rules, amounts),), self._clock() if now is None else now)
        return result if isinstance(result, Denied) else result[0]

    async def reserve_groups(self, groups: Sequence[tuple[Sequence[LimitRule], Amounts]], *,
                             now: float | None = None) -> Sequence[HeldReservation] | Denied:
        return self._reserve(groups, self._clock() if now is None else now)

    def _reserve(self, groups: Sequence[tuple[Sequence[LimitRule], Amounts]], t: float
                 ) -> list[HeldReservation] | Denied:
        if t >= self._next_prune:
            self._prune(t)
        planned = [self._plan(rules, amounts, t) for rules, amounts in groups]
        # Token buckets (most rules) are checked inline: this runs for every rule of every
        # request, and method calls were most of its cost.
        buckets = self._buckets
        denials = None
        for entries in planned:
            for e in entries:
                rule = e.rule
                if rule.code == 1 and e.amount <= rule.capacity:
                    b = buckets.get(e.key)
                    level = float(rule.capacity) if b is None else self._refill(b, rule, t)
                    if e.amount <= level:
                        continue
                d = self._check(e, t)
                if d is not None:
                    denials = [d] if denials is None else [*denials, d]
        if denials is not None:
            return worst(denials)
        member = f"m{next(self._ids)}"
        for entries in planned:
            for e in entries:
                self._charge(e, member, t)
        return [HeldReservation(entries, member, self._apply, self._clock) for entries in planned]

    def _plan(self, rules: Sequence[LimitRule], amounts: Amounts, t: float) -> list[Entry]:
        """`plan` with the state keys cached: the same entries, without formatting a key
        string per rule per request (a sliding window's keys change once per window)."""
        out = []
        for rule in rules:
            amount: int = getattr(amounts, rule.amount_field)
            code = rule.code
            if amount <= 0:
                if amount < 0:
                    raise ValueError(f"negative amount for {rule.key}")
                if code != 4:
                    continue
            if code in {1, 3}:
                key = self._fixed.get(rule.state)
                if key is None:
                    key = entry_for(self._prefix, rule, 0, t).key
                    self._remember(self._fixed, rule.state, key)
                out.append(Entry(rule, amount, key, key, 0.0))
            elif code == 2:
                index = math.floor(t / rule.window_seconds)
                cached = self._windows.get((rule.state, rule.window_seconds))
                if cached is None or cached[0] != index:
                    e = entry_for(self._prefix, rule, 0, t)
                    cached = (index, e.key, e.prev_key, e.mark)
                    self._remember(self._windows, (rule.state, rule.window_seconds), cached)
                out.append(Entry(rule, amount, cached[1], cached[2], cached[3]))
            else:
                out.append(entry_for(self._prefix, rule, amount, t))
        return out

    @staticmethod
    def _remember(cache: dict[_K, _V], key: _K, value: _V) -> None:
        if len(cache) >= _KEY_CACHE_MAX:
            cache.clear()   # rules come from config and key settings: rarely this many
        cache[key] = value

    async def usage(self, rule: LimitRule, *, now: float | None = None) -> float:
        t = self._clock() if now is None else now
        e = entry_for(self._prefix, rule, 0, t)
        cap = rule.capacity
        if cap <= 0:
            return 1.0
        match rule.code:
            case 1:
                used = cap - self._bucket(e, t).level
            case 2:
                used = self._estimate(e, t)
            case 3:
                used = self._held(e.key, t)
            case _:
                used = self._counters.get(e.key, 0)
        return min(1.0, max(0.0, used / cap))

    async def correct(self, rule: LimitRule, remaining: int, *, now: float | None = None) -> None:
        t = self._clock() if now is None else now
        e = entry_for(self._prefix, rule, 0, t)
        cap = rule.capacity
        match rule.code:
            case 1:
                bucket = self._bucket(e, t)
                bucket.level = min(bucket.level, float(remaining))
                self._store(e, bucket)
            case 2:
                missing = math.ceil((cap - remaining) - self._estimate(e, t))
                if missing > 0:
                    self._add(e.key, missing, e.mark + 2 * rule.window_seconds)
            case 4:
                spent = self._counters.get(e.key, 0)
                if spent < cap - remaining:
                    self._add(e.key, cap - remaining - spent, e.mark)
            case _:
                return  # providers do not report concurrency

    # -- state -------------------------------------------------------------------------------

    def _bucket(self, e: Entry, t: float) -> _Bucket:
        """The bucket refilled to `t`, in place (refilling to a time is idempotent); a new
        full one if none is stored (the caller stores it when it charges)."""
        b = self._buckets.get(e.key)
        if b is None:
            return _Bucket(float(e.rule.capacity), t)
        self._refill(b, e.rule, t)
        return b

    @staticmethod
    def _refill(b: _Bucket, rule: LimitRule, t: float) -> float:
        """Refill `b` to time `t` in place (idempotent) and return its level."""
        if t > b.ts:   # else a peer's clock ran ahead: no refill, keep its stamp
            cap = rule.capacity
            level = b.level + (t - b.ts) * cap / rule.window_seconds
            b.level = level if level < cap else float(cap)
            b.ts = t
        return b.level

    def _store(self, e: Entry, b: _Bucket) -> None:
        cap = e.rule.capacity
        b.full_at = b.ts + (cap - b.level) * e.rule.window_seconds / cap if cap > 0 else b.ts
        self._buckets[e.key] = b

    def _estimate(self, e: Entry, t: float) -> float:
        elapsed = t - e.mark
        prev = self._counters.get(e.prev_key, 0)
        return prev * (1 - elapsed / e.rule.window_seconds) + self._counters.get(e.key, 0)

    def _held(self, key: str, t: float) -> int:
        slots = self._leases.get(key)
        return 0 if slots is None else slots.count(t)

    def _add(self, key: str, delta: int, expires: float) -> None:
        self._counters[key] = self._counters.get(key, 0) + delta
        self._counter_expiry[key] = max(self._counter_expiry.get(key, 0.0), expires)

    def _check(self, e: Entry, t: float) -> Denied | None:
        rule, cap, amount = e.rule, e.rule.capacity, e.amount
        if amount > cap:
            return Denied(rule.key, rule.window_seconds, DenyReason.EXCEEDS_CAPACITY)
        match rule.code:
            case 1:
                level = self._bucket(e, t).level
                if amount <= level:
                    return None
                return Denied(rule.key, (amount - level) * rule.window_seconds / cap)
            case 2:
                if self._estimate(e, t) + amount <= cap:
                    return None
                return Denied(rule.key, sliding_retry(
                    self._counters.get(e.key, 0), self._counters.get(e.prev_key, 0), amount, cap,
                    elapsed=t - e.mark, window=rule.window_seconds))
            case 3:
                if self._held(e.key, t) + amount <= cap:
                    return None
                return Denied(rule.key, CONCURRENCY_RETRY_HINT)
            case _:
                spent = self._counters.get(e.key, 0)
                if spent + amount <= cap and (amount > 0 or spent < cap):
                    return None
                return Denied(rule.key, max(0.0, e.mark - t))

    def _charge(self, e: Entry, member: str, t: float) -> None:
        match e.rule.code:
            case 1:
                b = self._buckets.get(e.key)
                if b is None:
                    b = _Bucket(float(e.rule.capacity), t)
                b.level -= e.amount   # refilled to `t` by the check just before
                self._store(e, b)
            case 2:
                self._add(e.key, e.amount, e.mark + 2 * e.rule.window_seconds)
            case 3:
                slots = self._leases.get(e.key)
                if slots is None:
                    slots = self._leases[e.key] = _Slots()
                slots.add(member, t + e.rule.lease_seconds, e.amount)
            case _:
                self._add(e.key, e.amount, e.mark)

    async def _apply(self, entries: Sequence[Entry], refunds: Sequence[int], member: str,
                     t: float) -> None:
        buckets = self._buckets
        for e, refund in zip(entries, refunds, strict=True):
            match e.rule.code:
                case 1:
                    b = buckets.get(e.key)
                    if b is None:
                        b = _Bucket(float(e.rule.capacity), t)
                    level = self._refill(b, e.rule, t) + refund
                    cap = float(e.rule.capacity)
                    b.level = level if level < cap else cap
                    self._store(e, b)
                case 2:
                    if refund > 0 and e.key in self._counters:
                        self._counters[e.key] = max(0, self._counters[e.key] - refund)
                    elif refund < 0:  # used more than reserved: charge the window we are in
                        cur = entry_for(self._prefix, e.rule, 0, t)
                        self._add(cur.key, -refund, cur.mark + 2 * e.rule.window_seconds)
                case 3:
                    slots = self._leases.get(e.key)
                    if slots is not None:
                        slots.remove(member)
                case _:
                    if e.key in self._counters:
                        self._counters[e.key] -= refund

    def _prune(self, t: float) -> None:
        self._next_prune = t + 60.0
        for key in [k for k, exp in self._counter_expiry.items() if exp + 120.0 < t]:
            del self._counter_expiry[key]
            self._counters.pop(key, None)
        for key in [k for k in self._leases if self._held(k, t) == 0]:
            del self._leases[key]
        for key in [k for k, b in self._buckets.items() if b.full_at < t]:
            del self._buckets[key]
