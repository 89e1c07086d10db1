"""The shape shared by the hooks that reserve on a limiter before a request and settle after:
hold a reservation per request, settle it to the actual amounts in finalize, release it when
nothing was used (failure, cancel before any usage)."""

from __future__ import annotations

from portico.clock import SystemClock
from portico.config.model import LimitsConfig
from portico.errors import GatewayError, GatewayUnavailable
from portico.limits import Amounts, Denied, DenyReason, Limiter, LimitRule, Reservation
from portico.pipeline.context import RequestContext
from portico.pipeline.hooks import BaseHook, Outcome
from portico.pipeline.teams import Team, TeamDirectory
from portico.schema.response import Usage


class InboundRateLimited(GatewayError):
    """The client's own limit, met while admitting an upstream attempt (the combined admission
    on Redis). The same 429 as `RateLimited`, deliberately not a subclass: the executor fails
    over on `RateLimited`, and another key cannot lift the client's limit."""

    status = 429
    type = "rate_limit_error"
    default_code = "rate_limit_exceeded"


def denial_error(denied: Denied) -> GatewayError:
    if denied.reason is DenyReason.UNAVAILABLE:
        return GatewayUnavailable("the shared limit store is unreachable; retry shortly",
                                  retry_after=denied.retry_after)
    return denied.to_error()


class ReservingHook(BaseHook):
    def __init__(self, limiter: Limiter, config: LimitsConfig,
                 teams: TeamDirectory | None) -> None:
        self._limiter = limiter
        self._config = config
        self._held: dict[str, Reservation] = {}
        # Config-only until the gateway hands in the store-backed directory.
        self.teams = teams or TeamDirectory(None, config, SystemClock())

    def rules(self, ctx: RequestContext, team: Team | None = None) -> list[LimitRule]:
        raise NotImplementedError

    def actual(self, ctx: RequestContext, usage: Usage) -> Amounts:
        """What the finished request really used, in this hook's units."""
        raise NotImplementedError

    async def rules_for(self, ctx: RequestContext) -> list[LimitRule]:
        return self.rules(ctx, await self.teams.lookup(ctx.team) if ctx.team else None)

    async def hold(self, ctx: RequestContext, rules: list[LimitRule], amounts: Amounts) -> None:
        """Reserve all-or-nothing for this request, or raise the 429/503 the denial calls for."""
        result = await self._limiter.reserve(rules, amounts)
        if isinstance(result, Denied):
            raise denial_error(result)
        self._held[ctx.request_id] = result

    async def finalize(self, ctx: RequestContext, outcome: Outcome) -> None:
        held = self._held.pop(ctx.request_id, None)
        if held is None:
            return
        if ctx.usage is None:
            await held.release()
        else:
            await held.settle(self.actual(ctx, ctx.usage))
