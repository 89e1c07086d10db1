"""Budgets per key and team: worst case reserved before dispatch, settled to actual cost,
released on failure; fail closed when the shared store is down unless configured open."""

from __future__ import annotations

import pytest

from portico.config.model import BudgetLimits, LimitsConfig, TeamConfig
from portico.errors import BudgetExceeded, GatewayUnavailable, RateLimited
from portico.limits import FallbackLimiter, LimiterUnavailable, MemoryLimiter
from portico.pipeline.budget import BudgetHook, budget_rules
from portico.pipeline.context import RequestContext
from portico.pipeline.hooks import Outcome
from portico.schema.chat import ChatRequest
from portico.store.records import KeySettings

from ._capacity_support import EMBED, T0, ctx, embed_ctx, key, request, usage

WORST = 50_000   # $0.05


def worst(ctx: RequestContext, req: ChatRequest) -> int:
    return WORST


def hook(limiter: object | None = None, cfg: LimitsConfig | None = None) -> BudgetHook:
    lim = limiter or MemoryLimiter(clock=lambda: T0)
    return BudgetHook(lim, cfg or LimitsConfig(), worst)  # type: ignore[arg-type]


async def test_concurrent_reservations_never_overshoot() -> None:
    h = hook()
    k = key(KeySettings(budget_micros_daily=1_000_000))
    admitted = []
    for i in range(25):
        c = ctx(f"r{i}", k)
        try:
            await h.before(c, request())
        except BudgetExceeded as exc:
            assert exc.retry_after is not None and exc.retry_after > 0
            continue
        admitted.append(c)
    assert len(admitted) == 20
    for c in admitted[:10]:            # ten succeed at $0.01, ten fail: $0.90 comes back
        c.usage, c.cost_micros = usage(10, 10), 10_000
        await h.finalize(c, Outcome())
    for c in admitted[10:]:
        await h.finalize(c, Outcome(error=RateLimited("x")))
    more = 0
    for i in range(30):
        try:
            await h.before(ctx(f"s{i}", k), request())
            more += 1
        except BudgetExceeded:
            break
    assert more == (1_000_000 - 100_000) // WORST


async def test_team_budget_in_usd() -> None:
    cfg = LimitsConfig(teams={"red": TeamConfig(budget=BudgetLimits(monthly_usd=0.1))})
    h = hook(cfg=cfg)
    k = key(team="red")
    await h.before(ctx("a", k), request())
    await h.before(ctx("b", k), request())
    with pytest.raises(BudgetExceeded):
        await h.before(ctx("c", k), request())
    assert [r.capacity for r in budget_rules("t", BudgetLimits(daily_usd=1.25))] == [1_250_000]


class DownLimiter:
    async def reserve(self, *a: object, **kw: object) -> object:
        raise LimiterUnavailable("down")

    async def usage(self, *a: object, **kw: object) -> float:
        raise LimiterUnavailable("down")

    async def correct(self, *a: object, **kw: object) -> None:
        raise LimiterUnavailable("down")


async def test_store_down_fails_closed_by_default_and_open_when_configured() -> None:
    k = key(KeySettings(budget_micros_daily=1_000_000))
    closed = FallbackLimiter(DownLimiter(), MemoryLimiter(), share=1.0)  # type: ignore[arg-type]
    with pytest.raises(GatewayUnavailable):
        await hook(closed).before(ctx("a", k), request())
    opened = FallbackLimiter(DownLimiter(), MemoryLimiter(), share=1.0,  # type: ignore[arg-type]
                             budget_fail_open=True)
    c = ctx("b", k)
    await hook(opened).before(c, request())


async def test_embeddings_reserve_input_worst_case_and_settle_to_actual() -> None:
    h = hook()
    k = key(KeySettings(budget_micros_daily=1_000))
    first = embed_ctx("a", k, tokens=5_000, micros=600)
    await h.before_embeddings(first, EMBED)
    with pytest.raises(BudgetExceeded):                   # 600 held + 500 > 1,000
        await h.before_embeddings(embed_ctx("b", k, tokens=4_000, micros=500), EMBED)
    first.usage, first.cost_micros = usage(4_000, 0), 80  # the ledger priced the actual
    await h.finalize(first, Outcome())
    await h.before_embeddings(embed_ctx("c", k, tokens=4_000, micros=500), EMBED)
    failed = embed_ctx("d", k, tokens=1_000, micros=400)  # 80 + 500 + 400 = 980
    await h.before_embeddings(failed, EMBED)
    await h.finalize(failed, Outcome(error=RateLimited("x")))   # released: nothing billed
    await h.before_embeddings(embed_ctx("e", k, tokens=1_000, micros=420), EMBED)
