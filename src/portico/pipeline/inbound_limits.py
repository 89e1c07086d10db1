"""Inbound limits per virtual key and per team (rpm, tpm, parallel requests): reserve in `before`,
settle in `finalize`. Also sets the request's priority from the key and the client's headers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from portico.config.model import LimitsConfig
from portico.errors import GatewayError, RateLimited
from portico.limits import Amounts, Denied, Limiter, LimitKey, LimitKind, LimitRule, Reservation
from portico.pipeline._reserving import InboundRateLimited, ReservingHook, denial_error
from portico.pipeline.context import RequestContext
from portico.pipeline.embeddings import sizing_of
from portico.pipeline.hooks import Outcome
from portico.pipeline.teams import Team, TeamDirectory
from portico.schema.chat import ChatRequest
from portico.schema.embeddings import EmbeddingRequest
from portico.schema.response import Usage
from portico.store.records import Priority

_RULES_MAX = 10_000
_RANK: Mapping[Priority, int] = {"high": 0, "normal": 1, "low": 2}
PRIORITIES: Mapping[str, Priority] = {"high": "high", "normal": "normal", "low": "low"}


@dataclass(frozen=True, slots=True)
class RequestHints:
    """What the client asked for in headers: `x-portico-priority`, `x-portico-traffic`."""

    priority: Priority | None = None
    batch: bool = False


def hints_from_headers(priority: str | None, traffic: str | None) -> RequestHints | None:
    if priority is None and traffic is None:
        return None
    return RequestHints(priority=PRIORITIES.get((priority or "").strip().lower()),
                        batch=(traffic or "").strip().lower() == "batch")


def effective_priority(ctx: RequestContext, hints: RequestHints | None) -> Priority:
    """The key's default, or the header; a key with an explicit priority may only be lowered
    by its clients (a header cannot jump the queue the operator assigned)."""
    default = ctx.key.settings.priority if ctx.key else None
    asked = hints.priority if hints else None
    if hints is not None and hints.batch and asked is None:
        asked = "low"  # background/batch traffic: sliding windows, held back under pressure
    if asked is None:
        return default or "normal"
    if default is not None and _RANK[asked] < _RANK[default]:
        return default
    return asked


def rate_rule(scope: str, kind: LimitKind, limit: int, window: float,
              burst_fraction: float) -> LimitRule:
    """A token bucket refilling `limit` per `window` with a burst of ceil(limit * fraction):
    any window of that length then admits at most limit + burst."""
    burst = min(limit, max(1, math.ceil(limit * burst_fraction)))
    return LimitRule(LimitKey(scope, kind), burst, window * burst / limit)


def concurrency_rule(scope: str, slots: int, lease_seconds: float) -> LimitRule:
    return LimitRule(LimitKey(scope, LimitKind.CONCURRENCY), slots, lease_seconds=lease_seconds)


# (request id, request, context) -> (input tokens, max output tokens) for token limits.
TokenEstimate = Callable[[RequestContext, ChatRequest], tuple[int, int]]


class InboundLimitsHook(ReservingHook):
    name = "inbound_limits"

    def __init__(self, limiter: Limiter, config: LimitsConfig, estimate: TokenEstimate,
                 *, lease_seconds: float = 900.0, teams: TeamDirectory | None = None) -> None:
        super().__init__(limiter, config, teams)
        self._estimate = estimate
        self._lease = lease_seconds
        # On a shared store (Redis) the reservation waits for the first upstream attempt and
        # goes out in the same script as the upstream key's (`LimitedCapacity.acquire`): one
        # round trip per admission instead of two. Set by `CapacityStack`.
        self.defer = False
        self._deferred: dict[str, tuple[list[LimitRule], Amounts]] = {}
        # Rules per (scope, rpm, tpm, parallel): built once, not per request. Bounded: a
        # settings change makes a new entry, so the cache is cleared when it grows large.
        self._rules: dict[tuple[str, int | None, int | None, int | None], list[LimitRule]] = {}

    def rules(self, ctx: RequestContext, team: Team | None = None) -> list[LimitRule]:
        out: list[LimitRule] = []
        window = self._config.rate_window_seconds
        key = ctx.key
        if key is not None:
            s = key.settings
            if s.requests_per_minute or s.tokens_per_minute or s.max_parallel:
                out += self._scope(f"vkey:{key.id}", s.requests_per_minute,
                                   s.tokens_per_minute, s.max_parallel, window)
        if team is not None:
            t = team.settings
            out += self._scope(f"team:{team.name}", t.requests_per_minute,
                               t.tokens_per_minute, t.max_parallel, window)
        return out

    def _scope(self, scope: str, rpm: int | None, tpm: int | None, parallel: int | None,
               window: float) -> list[LimitRule]:
        cache_key = (scope, rpm, tpm, parallel)
        found = self._rules.get(cache_key)
        if found is None:
            found = self._build(scope, rpm, tpm, parallel, window)
            if len(self._rules) >= _RULES_MAX:
                self._rules.clear()
            self._rules[cache_key] = found
        return found

    def _build(self, scope: str, rpm: int | None, tpm: int | None, parallel: int | None,
               window: float) -> list[LimitRule]:
        out = []
        # Client-facing limits keep the classic full-window burst.
        if rpm:
            out.append(rate_rule(scope, LimitKind.REQUESTS_PER_MINUTE, rpm, window, 1.0))
        if tpm:
            out.append(rate_rule(scope, LimitKind.TOKENS_PER_MINUTE, tpm, window, 1.0))
        if parallel:
            out.append(concurrency_rule(scope, parallel, self._lease))
        return out

    async def before(self, ctx: RequestContext, req: ChatRequest) -> ChatRequest:
        await self._admit(ctx, lambda: sum(self._estimate(ctx, req)))
        return req

    async def before_embeddings(self, ctx: RequestContext, req: EmbeddingRequest
                                ) -> EmbeddingRequest:
        # Input tokens only: an embedding has no output to reserve for.
        await self._admit(ctx, lambda: sizing_of(ctx).input_tokens())
        return req

    async def _admit(self, ctx: RequestContext, tokens_needed: Callable[[], int]) -> None:
        """Reserve one request, the worst-case tokens and a parallel slot, or raise a 429."""
        ctx.priority = effective_priority(ctx, hints_from_headers(
            ctx.header("x-portico-priority"), ctx.header("x-portico-traffic")))
        rules = await self.rules_for(ctx)
        if not rules:
            return
        tokens = 0
        if any(r.key.kind is LimitKind.TOKENS_PER_MINUTE for r in rules):
            # A request larger than the whole window waits for a full bucket, then owes the rest.
            tokens = min([tokens_needed(), *(r.capacity for r in rules
                                             if r.key.kind is LimitKind.TOKENS_PER_MINUTE)])
        amounts = Amounts(requests=1, tokens=tokens, concurrency=1)
        if self.defer:
            self._deferred[ctx.request_id] = (rules, amounts)
            return
        await self.hold(ctx, rules, amounts)

    async def admit_now(self, ctx: RequestContext) -> None:
        """Take a deferred reservation at once, on its own round trip. For a request about to
        do costly work before dispatch (PII detection: milliseconds of CPU), so that a client
        over its limits is refused before it costs that work, as without deferral."""
        pending = self._deferred.pop(ctx.request_id, None)
        if pending is not None:
            await self.hold(ctx, *pending)

    def pending(self, request_id: str) -> tuple[list[LimitRule], Amounts] | None:
        """The deferred (rules, amounts) of a request not yet admitted upstream."""
        return self._deferred.get(request_id)

    def adopt(self, request_id: str, reservation: Reservation) -> None:
        """The deferred reservation was taken with an upstream attempt: settle it here."""
        del self._deferred[request_id]
        self._held[request_id] = reservation

    def refused(self, denied: Denied) -> GatewayError:
        """The error for a denial on this hook's rules, met during the combined admission."""
        err = denial_error(denied)
        if isinstance(err, RateLimited):
            return InboundRateLimited(err.message, retry_after=err.retry_after)
        return err

    async def finalize(self, ctx: RequestContext, outcome: Outcome) -> None:
        # Never admitted (no attempt was made): nothing was taken.
        self._deferred.pop(ctx.request_id, None)
        await super().finalize(ctx, outcome)

    def actual(self, ctx: RequestContext, usage: Usage) -> Amounts:
        return Amounts(requests=1, tokens=usage.prompt_tokens + usage.completion_tokens)
