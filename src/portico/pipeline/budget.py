"""Budgets per virtual key and per team: reserve the worst-case cost before dispatch, settle to
the actual cost in finalize, release on failure or cancel. Concurrent requests cannot overshoot.

Provider budgets are reserved per attempt by the capacity gate (the provider is known only then).
"""

from __future__ import annotations

from collections.abc import Callable

from portico.accounting.estimate import usd_to_micros
from portico.config.model import BudgetLimits, LimitsConfig
from portico.limits import (
    Amounts,
    BudgetPeriod,
    Limiter,
    LimitKey,
    LimitKind,
    LimitRule,
)
from portico.pipeline._reserving import ReservingHook
from portico.pipeline.context import RequestContext
from portico.pipeline.embeddings import sizing_of
from portico.pipeline.teams import Team, TeamDirectory
from portico.schema.chat import ChatRequest
from portico.schema.embeddings import EmbeddingRequest
from portico.schema.response import Usage

# Micro-USD upper bound of what this request can cost on any deployment that may serve it.
WorstCase = Callable[[RequestContext, ChatRequest], int]


def budget_rules(scope: str, limits: BudgetLimits | None) -> list[LimitRule]:
    if limits is None:
        return []
    out = []
    for period, usd in ((BudgetPeriod.DAILY, limits.daily_usd),
                        (BudgetPeriod.MONTHLY, limits.monthly_usd),
                        (BudgetPeriod.QUARTERLY, limits.quarterly_usd)):
        micros = usd_to_micros(usd)
        if micros is not None:
            out.append(budget_rule(scope, period, micros))
    return out


def budget_rule(scope: str, period: BudgetPeriod, micros: int) -> LimitRule:
    # The period is part of the scope so a key's daily and monthly counters never share state.
    return LimitRule(LimitKey(f"{scope}:{period.value}", LimitKind.BUDGET), micros,
                     period=period)


class BudgetHook(ReservingHook):
    name = "budget"

    def __init__(self, limiter: Limiter, config: LimitsConfig, worst_case: WorstCase,
                 *, teams: TeamDirectory | None = None) -> None:
        super().__init__(limiter, config, teams)
        self._worst = worst_case

    def rules(self, ctx: RequestContext, team: Team | None = None) -> list[LimitRule]:
        out: list[LimitRule] = []
        key = ctx.key
        if key is not None:
            s = key.settings
            scope = f"vkey:{key.id}"
            if s.budget_micros_daily is not None:
                out.append(budget_rule(scope, BudgetPeriod.DAILY, s.budget_micros_daily))
            if s.budget_micros_monthly is not None:
                out.append(budget_rule(scope, BudgetPeriod.MONTHLY, s.budget_micros_monthly))
        if team is not None:
            t, scope = team.settings, f"team:{team.name}"
            for period, micros in ((BudgetPeriod.DAILY, t.budget_micros_daily),
                                   (BudgetPeriod.MONTHLY, t.budget_micros_monthly),
                                   (BudgetPeriod.QUARTERLY, t.budget_micros_quarterly)):
                if micros is not None:
                    out.append(budget_rule(scope, period, micros))
        return out

    async def before(self, ctx: RequestContext, req: ChatRequest) -> ChatRequest:
        await self._reserve(ctx, lambda: self._worst(ctx, req))
        return req

    async def before_embeddings(self, ctx: RequestContext, req: EmbeddingRequest
                                ) -> EmbeddingRequest:
        # Worst case: the input tokens at the dearest input price of the group's deployments.
        await self._reserve(ctx, lambda: sizing_of(ctx).worst_case_micros())
        return req

    async def _reserve(self, ctx: RequestContext, worst: Callable[[], int]) -> None:
        rules = await self.rules_for(ctx)
        if rules:
            await self.hold(ctx, rules, Amounts(micros=worst()))

    def actual(self, ctx: RequestContext, usage: Usage) -> Amounts:
        # The ledger hook (finalized before us) has priced the usage.
        return Amounts(micros=ctx.cost_micros)
