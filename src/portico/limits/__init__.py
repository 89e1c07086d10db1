"""Rate limits, concurrency and budgets: exact reserve-then-settle over memory or Redis backends.

Only this package and `portico.store` may import `redis`.
"""

from portico.limits._periods import period_end, period_key
from portico.limits.adaptive import AdaptiveConcurrency, AdaptiveConfig, AdaptiveRegistry
from portico.limits.base import (
    RATE_KINDS,
    Algorithm,
    Amounts,
    BudgetPeriod,
    Clock,
    Denied,
    DenyReason,
    Limiter,
    LimiterUnavailable,
    LimitKey,
    LimitKind,
    LimitRule,
    Reservation,
    Sleep,
)
from portico.limits.fallback import FallbackLimiter
from portico.limits.headers import remaining_from_headers
from portico.limits.memory import MemoryLimiter
from portico.limits.queue import Priority, PriorityGate
from portico.limits.redis_limiter import RedisLimiter

__all__ = [
    "RATE_KINDS",
    "AdaptiveConcurrency",
    "AdaptiveConfig",
    "AdaptiveRegistry",
    "Algorithm",
    "Amounts",
    "BudgetPeriod",
    "Clock",
    "Denied",
    "DenyReason",
    "FallbackLimiter",
    "LimitKey",
    "LimitKind",
    "LimitRule",
    "Limiter",
    "LimiterUnavailable",
    "MemoryLimiter",
    "Priority",
    "PriorityGate",
    "RedisLimiter",
    "Reservation",
    "Sleep",
    "period_end",
    "period_key",
    "remaining_from_headers",
]
