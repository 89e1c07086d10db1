"""Shared limiter on Redis: one Lua call per reserve checks and charges every rule atomically.

Time comes from the caller's clock (never Redis TIME) so tests can drive it; every call is bounded
by a short timeout and Redis failures surface as `LimiterUnavailable`. Settles are posted on the
pipelined connection without waiting (see `_redis_pipe`).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import time
import uuid
from collections.abc import Sequence
from typing import Any

from portico.limits import _lua
from portico.limits._plan import BUDGET_GRACE_SECONDS, Entry, entry_for, kind_code, plan
from portico.limits._redis_pipe import RedisPipe, Reply, ReplyError, pack
from portico.limits._reservation import HeldReservation
from portico.limits.base import (
    Amounts,
    Clock,
    Denied,
    DenyReason,
    LimiterUnavailable,
    LimitRule,
)

log = logging.getLogger("portico.limits.redis")


def _extra(e: Entry, now: float) -> float:
    """The 6th script argument: lease seconds, sliding-window TTL or budget TTL."""
    match kind_code(e.rule):
        case 3:
            return e.rule.lease_seconds
        case 2:
            return 2 * e.rule.window_seconds + 60
        case 4:
            return e.mark - now + BUDGET_GRACE_SECONDS
        case _:
            return 0.0


def _bulk(a: str) -> str:
    return f"${len(a)}\r\n{a}\r\n"


def _pack(command: bytes, script: bytes, keys: list[str], argv: list[str], argc: int) -> bytes:
    """One EVALSHA/EVAL as RESP bytes, built in one join (a generic per-argument packer costs
    ~1 µs per argument; a reserve has ~50). `argv` holds RESP-encoded argument segments
    (ASCII: numbers, the hex member), `argc` how many arguments they make."""
    count = b"%d" % len(keys)
    head = b"*%d\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (
        3 + len(keys) + argc, len(command), command, len(script), script,
        len(count), count)
    encoded = [k.encode() for k in keys]
    return b"".join([head, *[b"$%d\r\n%s\r\n" % (len(k), k) for k in encoded],
                     "".join(argv).encode()])


def _head(t: float, member: str, n: int) -> list[str]:
    return [_bulk(repr(t)), _bulk(member), _bulk(str(n))]


def _entry_args(e: Entry, amount: float, fifth: float, now: float) -> str:
    """An entry's 6 script arguments, RESP-encoded: the rule's fixed three, then these."""
    a, f, x = str(amount), repr(fifth), repr(_extra(e, now))
    return (f"{e.rule.wire_resp}${len(a)}\r\n{a}\r\n${len(f)}\r\n{f}\r\n"
            f"${len(x)}\r\n{x}\r\n")


class RedisLimiter:
    """The `Limiter` on one pipelined Redis connection; keys live under `prefix`.

    Reserves wait for their reply (one round trip); settles and releases are posted and not
    waited for, so they cost the request no round trip. They still reach Redis in order before
    any later call of this process; one lost with the connection leaves its lease to expire by
    TTL and its tokens charged at the reservation, as a settle lost to a dead Redis always did.
    """

    def __init__(self, pipe: RedisPipe, *, prefix: str, timeout: float = 0.05,
                 clock: Clock = time.time) -> None:
        self._pipe = pipe
        self._prefix = prefix
        self.timeout = timeout
        self._clock = clock
        # Lease members: unique per process (random) and per reservation (a counter), cheaper
        # than a uuid4 per request.
        self._node = uuid.uuid4().hex[:16]
        self._ids = itertools.count(1)
        self._scripts = {name: (hashlib.sha1(body.encode()).hexdigest().encode(),  # noqa: S324
                                body.encode())
                         for name, body in (("reserve", _lua.RESERVE), ("finish", _lua.FINISH),
                                            ("usage", _lua.USAGE))}

    @classmethod
    def from_url(cls, url: str, *, prefix: str, timeout_ms: int = 50,
                 clock: Clock = time.time) -> RedisLimiter:
        """A dead Redis fails a call in about 3 x `timeout_ms` (connect, or the reply)."""
        timeout = timeout_ms / 1000
        loads = tuple(pack(b"SCRIPT", b"LOAD", body.encode())
                      for body in (_lua.RESERVE, _lua.FINISH, _lua.USAGE))
        return cls(RedisPipe(url, connect_timeout=timeout, preamble=loads), prefix=prefix,
                   timeout=timeout, clock=clock)

    async def aclose(self) -> None:
        """Sends what is still queued (settles) and waits briefly for it, then closes."""
        await self._pipe.aclose()

    async def _call(self, script: str, keys: list[str], args: list[str], argc: int) -> Any:
        sha, body = self._scripts[script]
        try:
            async with asyncio.timeout(self.timeout * 3):
                try:
                    return await self._pipe.call(_pack(b"EVALSHA", sha, keys, args, argc))
                except ReplyError as exc:
                    if not exc.noscript:
                        raise
                    # Redis restarted or flushed its script cache: EVAL loads it again.
                    return await self._pipe.call(_pack(b"EVAL", body, keys, args, argc))
        except TimeoutError as exc:
            self._pipe.reset()   # replies come back in order: one overdue blocks the rest
            raise LimiterUnavailable("redis limiter unavailable: TimeoutError") from exc
        except (ReplyError, OSError) as exc:
            raise LimiterUnavailable(f"redis limiter unavailable: {type(exc).__name__}") from exc

    def _post(self, script: str, keys: list[str], args: list[str], argc: int) -> None:
        """Fire-and-forget; NOSCRIPT is retried once as EVAL, other failures are logged."""
        sha, body = self._scripts[script]

        def after_eval(fut: asyncio.Future[Reply]) -> None:
            if fut.cancelled():
                return
            exc = fut.exception()
            result = fut.result() if exc is None else None
            if isinstance(exc, OSError) or isinstance(result, ReplyError):
                log.warning("limiter %s lost (%s); leases expire by TTL", script,
                            exc or result)

        def after_evalsha(fut: asyncio.Future[Reply]) -> None:
            if not fut.cancelled() and fut.exception() is None:
                result = fut.result()
                if isinstance(result, ReplyError) and result.noscript:
                    self._pipe.post(_pack(b"EVAL", body, keys, args, argc), after_eval)
                    return
            after_eval(fut)

        self._pipe.post(_pack(b"EVALSHA", sha, keys, args, argc), after_evalsha)

    async def reserve(self, rules: Sequence[LimitRule], amounts: Amounts, *,
                      now: float | None = None) -> HeldReservation | Denied:
        result = await self.reserve_groups(((rules, amounts),), now=now)
        return result if isinstance(result, Denied) else result[0]

    async def reserve_groups(self, groups: Sequence[tuple[Sequence[LimitRule], Amounts]], *,
                             now: float | None = None) -> Sequence[HeldReservation] | Denied:
        """Every group's entries in one RESERVE script: one round trip, all-or-nothing."""
        t = self._clock() if now is None else now
        planned = [plan(self._prefix, rules, amounts, t) for rules, amounts in groups]
        entries = [e for group in planned for e in group]
        member = f"{self._node}{next(self._ids):x}"
        keys: list[str] = []
        args = _head(t, member, len(entries))
        for e in entries:
            keys += [e.key, e.prev_key]
            args.append(_entry_args(e, e.amount, e.mark, t))
        if entries:
            result = await self._call("reserve", keys, args, 3 + 6 * len(entries))
            if int(result[0]) == 0:
                e = entries[int(result[1]) - 1]
                never = result[3] in (b"x", "x")
                reason = DenyReason.EXCEEDS_CAPACITY if never else DenyReason.CAPACITY
                return Denied(e.rule.key, float(result[2]), reason)
        return [HeldReservation(group, member, self._apply, self._clock) for group in planned]

    async def _apply(self, entries: Sequence[Entry], refunds: Sequence[int], member: str,
                     t: float) -> None:
        keys: list[str] = []
        args = _head(t, member, len(entries))
        for e, refund in zip(entries, refunds, strict=True):
            second = entry_for(self._prefix, e.rule, 0, t).key if kind_code(e.rule) == 2 else e.key
            keys += [e.key, second]
            args.append(_entry_args(e, refund, e.amount, t))
        if entries:
            self._post("finish", keys, args, 3 + 6 * len(entries))

    async def _used(self, rule: LimitRule, t: float, remaining: str) -> float:
        e = entry_for(self._prefix, rule, 0, t)
        args = [_bulk(repr(t)), _bulk(remaining), _bulk("1"), _entry_args(e, 0, e.mark, t)]
        result = await self._call("usage", [e.key, e.prev_key], args, 9)
        return float(result)

    async def usage(self, rule: LimitRule, *, now: float | None = None) -> float:
        if rule.capacity <= 0:
            return 1.0
        used = await self._used(rule, self._clock() if now is None else now, "")
        return min(1.0, max(0.0, used / rule.capacity))

    async def correct(self, rule: LimitRule, remaining: int, *, now: float | None = None) -> None:
        await self._used(rule, self._clock() if now is None else now, str(max(0, remaining)))

