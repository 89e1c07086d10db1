"""The limits contract: keys, rules, amounts, the all-or-nothing `Limiter` and its `Reservation`.

Every backend (memory, Redis, fallback) implements exactly this surface; callers never branch on it.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Protocol, runtime_checkable

from portico.errors import BudgetExceeded, GatewayError, RateLimited

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class LimitKind(enum.StrEnum):
    REQUESTS_PER_MINUTE = "requests_per_minute"
    TOKENS_PER_MINUTE = "tokens_per_minute"
    INPUT_TOKENS_PER_MINUTE = "input_tokens_per_minute"
    OUTPUT_TOKENS_PER_MINUTE = "output_tokens_per_minute"
    CONCURRENCY = "concurrency"
    BUDGET = "budget"


class BudgetPeriod(enum.StrEnum):
    DAILY = "daily"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


class Algorithm(enum.StrEnum):
    """How a rate rule meters: a refilling bucket (bursty) or a sliding window (smooth)."""

    TOKEN_BUCKET = "token_bucket"  # noqa: S105 (not a secret)
    SLIDING_WINDOW = "sliding_window"


RATE_KINDS: frozenset[LimitKind] = frozenset({
    LimitKind.REQUESTS_PER_MINUTE,
    LimitKind.TOKENS_PER_MINUTE,
    LimitKind.INPUT_TOKENS_PER_MINUTE,
    LimitKind.OUTPUT_TOKENS_PER_MINUTE,
})


@dataclass(frozen=True, slots=True)
class LimitKey:
    """What is limited: `scope` like "upstream-key:openai:main", "vkey:<id>", "team:<t>"."""

    scope: str
    kind: LimitKind

    def __str__(self) -> str:
        return f"{self.scope}/{self.kind.value}"


@dataclass(frozen=True, slots=True)
class LimitRule:
    """A capacity for one key. For rate kinds `capacity` refills over `window_seconds`; for
    concurrency `capacity` is the slot count and `lease_seconds` the crash TTL of a slot; for
    budgets `capacity` is micro-USD per `period` (UTC calendar periods, window_seconds unused).
    """

    key: LimitKey
    capacity: int
    window_seconds: float = 60.0
    algorithm: Algorithm = Algorithm.TOKEN_BUCKET
    lease_seconds: float = 900.0
    period: BudgetPeriod = BudgetPeriod.MONTHLY
    # Derived once here, read on every reservation: the backends' kind code (1 bucket,
    # 2 sliding window, 3 concurrency, 4 budget) and the state key under a backend prefix.
    code: int = field(init=False, compare=False, repr=False)
    state: str = field(init=False, compare=False, repr=False)
    # The rule's fixed script arguments (code, capacity, window) as the Redis backend sends
    # them: RESP-encoded once here rather than for every reservation.
    wire_resp: str = field(init=False, compare=False, repr=False)
    # The `Amounts` field this rule meters, looked up once here.
    amount_field: str = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.capacity < 0:
            raise ValueError(f"capacity must be >= 0 for {self.key}")
        if not (self.window_seconds > 0 and math.isfinite(self.window_seconds)):
            raise ValueError(f"window_seconds must be a positive number for {self.key}")
        if not self.lease_seconds > 0:
            raise ValueError(f"lease_seconds must be positive for {self.key}")
        kind = self.key.kind
        if kind is LimitKind.CONCURRENCY:
            code = 3
        elif kind is LimitKind.BUDGET:
            code = 4
        elif self.algorithm is Algorithm.TOKEN_BUCKET:
            code = 1
        elif self.algorithm is Algorithm.SLIDING_WINDOW:
            code = 2
        else:
            raise ValueError(f"unknown algorithm {self.algorithm!r} for {self.key}")
        object.__setattr__(self, "code", code)
        object.__setattr__(self, "state", f"{kind.value}:{self.key.scope}")
        object.__setattr__(self, "amount_field", _AMOUNT_FIELD[kind])
        object.__setattr__(self, "wire_resp", "".join(
            f"${len(a)}\r\n{a}\r\n" for a in (str(code), str(self.capacity),
                                              repr(self.window_seconds))))

    def scaled(self, share: float) -> LimitRule:
        """This rule with `capacity * share` (at least 1), for a per-process fallback share."""
        return LimitRule(self.key, max(1, math.floor(self.capacity * share)), self.window_seconds,
                         self.algorithm, self.lease_seconds, self.period)


@dataclass(frozen=True, slots=True)
class Amounts:
    """What one request takes. `micros` is integer micro-USD (budgets); the rest are counts."""

    requests: int = 0
    tokens: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    concurrency: int = 0
    micros: int = 0

    def of(self, kind: LimitKind) -> int:
        value: int = getattr(self, _AMOUNT_FIELD[kind])
        return value


# Which `Amounts` field meters each kind (a lookup: `of` runs for every rule of every request).
_AMOUNT_FIELD: Final[Mapping[LimitKind, str]] = MappingProxyType({
    LimitKind.REQUESTS_PER_MINUTE: "requests",
    LimitKind.TOKENS_PER_MINUTE: "tokens",
    LimitKind.INPUT_TOKENS_PER_MINUTE: "input_tokens",
    LimitKind.OUTPUT_TOKENS_PER_MINUTE: "output_tokens",
    LimitKind.CONCURRENCY: "concurrency",
    LimitKind.BUDGET: "micros",
})


class DenyReason(enum.StrEnum):
    CAPACITY = "capacity"                # full now; `retry_after` says when it frees
    EXCEEDS_CAPACITY = "exceeds_capacity"  # the amount is larger than the rule ever allows
    UNAVAILABLE = "unavailable"          # the shared store is down and the rule fails closed


@dataclass(frozen=True, slots=True)
class Denied:
    """A refused reservation: nothing was taken on any key."""

    key: LimitKey
    retry_after: float
    reason: DenyReason = DenyReason.CAPACITY

    def to_error(self) -> GatewayError:
        """The client-facing error for our own limit (429, not retried by us)."""
        if self.key.kind is LimitKind.BUDGET:
            return BudgetExceeded(f"budget exhausted for {self.key.scope}",
                                  retry_after=self.retry_after)
        return RateLimited(f"{self.key.kind.value} limit reached for {self.key.scope}",
                           retry_after=self.retry_after)


class LimiterUnavailable(GatewayError):
    """The shared limiter store could not answer within its timeout."""

    status = 503
    type = "service_unavailable"
    default_code = "limiter_unavailable"


@runtime_checkable
class Reservation(Protocol):
    """Capacity held for one request. The first settle/release wins; later calls are no-ops."""

    @property
    def done(self) -> bool: ...

    async def settle(self, actual: Amounts, *, now: float | None = None) -> None:
        """Charge `actual` tokens/micros (the difference to the reservation is given back, or
        taken as debt when larger); requests stay charged; concurrency slots are freed."""

    async def release(self, *, now: float | None = None) -> None:
        """Give everything back (the request failed or was cancelled before use)."""


class Limiter(Protocol):
    """Atomic, all-or-nothing across several keys."""

    async def reserve(self, rules: Sequence[LimitRule], amounts: Amounts, *,
                      now: float | None = None) -> Reservation | Denied: ...

    async def reserve_groups(self, groups: Sequence[tuple[Sequence[LimitRule], Amounts]], *,
                             now: float | None = None) -> Sequence[Reservation] | Denied:
        """Several (rules, amounts) at once, all-or-nothing across every group (one round trip
        on a shared store); one reservation per group, each settled on its own."""

    async def usage(self, rule: LimitRule, *, now: float | None = None) -> float:
        """Utilisation of `rule` in 0..1."""

    async def correct(self, rule: LimitRule, remaining: int, *, now: float | None = None) -> None:
        """Lower our view of remaining capacity to what the provider reported (never raise it)."""
