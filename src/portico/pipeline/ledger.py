"""The finalize stage that turns a finished request into a ledger row and an audit event.

Both go to the write-behind journal, so the request path never waits on the database.
"""

from __future__ import annotations

from typing import Protocol

from portico.clock import Clock
from portico.pipeline.context import RequestContext
from portico.pipeline.hooks import BaseHook, Outcome
from portico.schema.response import Usage
from portico.store.records import AuditEvent, LedgerRow


class CostModel(Protocol):
    def cost(self, provider: str, model: str, usage: Usage, at_ms: int) -> int | None:
        """Micro-USD, or None when no price is known (never silently zero)."""
        ...


class Sink(Protocol):
    def submit_ledger(self, row: LedgerRow) -> None: ...
    def submit_audit(self, event: AuditEvent) -> None: ...


class LedgerHook(BaseHook):
    name = "ledger"

    def __init__(self, sink: Sink, costs: CostModel, clock: Clock) -> None:
        self._sink = sink
        self._costs = costs
        self._clock = clock

    def _cost(self, ctx: RequestContext) -> None:
        if ctx.usage is None or ctx.target is None:
            return
        micros = self._costs.cost(ctx.target.provider.name, ctx.target.model, ctx.usage,
                                  ctx.ts_ms)
        ctx.price_missing = micros is None
        ctx.cost_micros = micros or 0

    async def finalize(self, ctx: RequestContext, outcome: Outcome) -> None:
        self._cost(ctx)
        usage = ctx.usage or Usage(prompt_tokens=0, completion_tokens=0, total_tokens=0)
        target = ctx.target
        latency = int((self._clock.monotonic() - ctx.started) * 1000)
        row = LedgerRow(
            request_id=ctx.request_id, ts_ms=ctx.ts_ms, key_id=ctx.key_id, team=ctx.team,
            model_requested=ctx.model_requested,
            provider=target.provider.name if target else None,
            deployment=target.deployment if target else None,
            upstream_model=target.model if target else None,
            attempts=ctx.attempts, tokens_in=usage.prompt_tokens,
            tokens_out=usage.completion_tokens, tokens_cached=usage.cached_tokens,
            tokens_cache_write=usage.cache_write_tokens, cost_micros=ctx.cost_micros,
            cost_estimated=ctx.usage_estimated, price_missing=ctx.price_missing,
            latency_ms=latency, ttft_ms=ctx.ttft_ms, status=ctx.status,
            http_status=ctx.http_status, error_code=ctx.error_code, stream=ctx.stream,
            endpoint=ctx.endpoint,
        )
        self._sink.submit_ledger(row)
        detail: dict[str, object] = {
            "deployment": row.deployment, "provider": row.provider,
            "data_class": ctx.data_class, "policy": ctx.policy_decisions,
            "pii": ctx.pii_counts, "tokens_in": row.tokens_in,
            "tokens_out": row.tokens_out, "cost_micros": row.cost_micros,
            "status": row.status, "http_status": row.http_status, "team": ctx.team,
        }
        if ctx.pii_unscreened:
            # Token-array embedding inputs in detect mode: nothing could be screened in them.
            detail["pii_unscreened_inputs"] = ctx.pii_unscreened
        self._sink.submit_audit(AuditEvent(
            event_id=ctx.request_id, ts_ms=ctx.ts_ms, kind="request",
            actor=ctx.key_id or ("master" if ctx.is_master else "anonymous"),
            action=f"{ctx.endpoint}.request", target=ctx.model_requested, detail=detail,
        ))
