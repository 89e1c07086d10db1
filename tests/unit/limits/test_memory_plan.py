"""The memory limiter's cached planner must produce exactly the entries of the shared `plan`
(the Redis backend's): same state keys, amounts and marks, across window and period edges."""

from __future__ import annotations

import pytest

from portico.limits import (
    Algorithm,
    Amounts,
    BudgetPeriod,
    LimitKey,
    LimitKind,
    LimitRule,
    MemoryLimiter,
)
from portico.limits._plan import plan
from portico.pipeline.budget import budget_rule

SCOPE = "upstream:openai:k1"
RULES = [
    LimitRule(LimitKey(SCOPE, LimitKind.REQUESTS_PER_MINUTE), 10, 6.0),
    LimitRule(LimitKey(SCOPE, LimitKind.TOKENS_PER_MINUTE), 1000, 60.0),
    LimitRule(LimitKey(SCOPE, LimitKind.REQUESTS_PER_MINUTE), 100, 60.0, Algorithm.SLIDING_WINDOW),
    LimitRule(LimitKey(SCOPE, LimitKind.OUTPUT_TOKENS_PER_MINUTE), 500, 7.5,
              Algorithm.SLIDING_WINDOW),
    LimitRule(LimitKey(SCOPE, LimitKind.CONCURRENCY), 4),
    budget_rule("vkey:a", BudgetPeriod.DAILY, 1_000_000),
]
AMOUNTS = [
    Amounts(requests=1, tokens=300, output_tokens=200, concurrency=1, micros=50),
    Amounts(requests=1),            # zero tokens: token rules skipped, the budget still checked
]


@pytest.mark.parametrize("amounts", AMOUNTS)
def test_cached_plan_equals_the_shared_plan(amounts: Amounts) -> None:
    limiter = MemoryLimiter(prefix="p1")
    # Times around window edges (6 s, 7.5 s, 60 s) and a UTC day boundary, repeated so the
    # cached keys are both built and reused.
    base = 1_700_006_400.0      # a UTC midnight
    times = [base - 0.001, base, base + 5.999, base + 6.0, base + 7.5, base + 59.9, base + 60.0]
    for t in [*times, *times, base + 86_400.0, base - 0.001]:
        cached = limiter._plan(RULES, amounts, t)
        shared = plan("p1", RULES, amounts, t)
        assert [(e.rule, e.amount, e.key, e.prev_key, e.mark) for e in cached] == \
            [(e.rule, e.amount, e.key, e.prev_key, e.mark) for e in shared]


def test_negative_amounts_are_refused_like_the_shared_plan() -> None:
    with pytest.raises(ValueError, match="negative amount"):
        MemoryLimiter()._plan(RULES, Amounts(requests=-1), 0.0)
