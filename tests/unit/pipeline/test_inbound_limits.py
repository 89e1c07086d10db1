"""Inbound limits per virtual key and team: reserve before, settle in finalize, 429 + Retry-After;
priority from the key and the client's headers."""

from __future__ import annotations

import pytest

from portico.config.model import LimitsConfig, TeamConfig
from portico.errors import RateLimited
from portico.limits import LimitKind, MemoryLimiter
from portico.pipeline.context import RequestContext
from portico.pipeline.hooks import Outcome
from portico.pipeline.inbound_limits import (
    InboundLimitsHook,
    effective_priority,
    hints_from_headers,
    rate_rule,
)
from portico.schema.chat import ChatRequest
from portico.store.records import KeySettings

from ._capacity_support import EMBED, T0, ctx, embed_ctx, key, request, usage


class Now:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> float:
        return self.t


def estimate(ctx: RequestContext, req: ChatRequest) -> tuple[int, int]:
    return 10, req.output_cap or 100


def hook(now: Now, teams: dict[str, TeamConfig] | None = None) -> InboundLimitsHook:
    return InboundLimitsHook(MemoryLimiter(clock=now), LimitsConfig(teams=teams or {}), estimate)


async def test_key_rpm_refuses_with_retry_after_and_refills() -> None:
    now = Now()
    h = hook(now)
    k = key(KeySettings(requests_per_minute=2))
    for i in range(2):
        await h.before(ctx(f"r{i}", k), request())
    with pytest.raises(RateLimited) as denied:
        await h.before(ctx("r2", k), request())
    assert denied.value.retry_after is not None and 0 < denied.value.retry_after <= 30
    now.t += 30
    await h.before(ctx("r3", k), request())


async def test_parallel_slots_free_in_finalize_even_on_error() -> None:
    now = Now()
    h = hook(now)
    k = key(KeySettings(max_parallel=1))
    first = ctx("a", k)
    await h.before(first, request())
    with pytest.raises(RateLimited):
        await h.before(ctx("b", k), request())
    await h.finalize(first, Outcome(error=RateLimited("x")))
    await h.before(ctx("c", k), request())


async def test_tokens_reserve_estimate_and_settle_to_actual() -> None:
    now = Now()
    h = hook(now)
    k = key(KeySettings(tokens_per_minute=1000))
    c1 = ctx("a", k)
    await h.before(c1, request(max_tokens=490))          # reserves 10 + 490
    await h.before(ctx("b", k), request(max_tokens=490))  # 1000 used
    with pytest.raises(RateLimited):
        await h.before(ctx("c", k), request(max_tokens=10))
    c1.usage = usage(10, 40)                              # 450 unused come back
    await h.finalize(c1, Outcome())
    await h.before(ctx("d", k), request(max_tokens=400))


async def test_team_limit_spans_its_keys() -> None:
    now = Now()
    h = hook(now, {"red": TeamConfig(requests_per_minute=2)})
    for i, kid in enumerate(("vk_a", "vk_b")):
        await h.before(ctx(f"r{i}", key(team="red", key_id=kid)), request())
    with pytest.raises(RateLimited):
        await h.before(ctx("r3", key(team="red", key_id="vk_c")), request())
    await h.before(ctx("r4", key(team="blue", key_id="vk_d")), request())


async def test_no_limits_reserves_nothing() -> None:
    h = hook(Now())
    c = ctx("a", key())
    await h.before(c, request())
    assert h.rules(c) == []
    await h.finalize(c, Outcome())


def test_priority_from_key_and_headers() -> None:
    plain, low_key, high_key = key(), key(KeySettings(priority="low")), \
        key(KeySettings(priority="high"))
    assert effective_priority(ctx("a", plain), None) == "normal"
    assert effective_priority(ctx("a", plain), hints_from_headers("high", None)) == "high"
    assert effective_priority(ctx("a", plain), hints_from_headers(None, "batch")) == "low"
    assert effective_priority(ctx("a", low_key), hints_from_headers("high", None)) == "low"
    assert effective_priority(ctx("a", high_key), hints_from_headers("low", None)) == "low"
    assert effective_priority(ctx("a", high_key), None) == "high"
    assert hints_from_headers("bogus", None) is not None
    assert effective_priority(ctx("a", plain), hints_from_headers("bogus", None)) == "normal"


class Headers:
    def __init__(self, **values: str) -> None:
        self._values = {k.replace("_", "-"): v for k, v in values.items()}

    def getlist(self, key: str) -> list[str]:
        value = self._values.get(key.lower())
        return [value] if value is not None else []


async def test_hook_reads_priority_hints_from_the_request_headers() -> None:
    h = hook(Now())
    c = ctx("a", key())
    c.headers = Headers(x_portico_priority="high")
    await h.before(c, request())
    assert c.priority == "high"
    batch = ctx("b", key())
    batch.headers = Headers(x_portico_traffic="batch")
    await h.before(batch, request())
    assert batch.priority == "low"


def test_rate_rule_burst_bounds_any_window() -> None:
    rule = rate_rule("s", LimitKind.REQUESTS_PER_MINUTE, 30, 60.0, 0.1)
    assert rule.capacity == 3 and rule.window_seconds == pytest.approx(6.0)
    full = rate_rule("s", LimitKind.REQUESTS_PER_MINUTE, 30, 60.0, 1.0)
    assert full.capacity == 30 and full.window_seconds == 60.0


async def test_embeddings_reserve_requests_and_input_tokens_only() -> None:
    h = hook(Now())
    k = key(KeySettings(tokens_per_minute=1000, requests_per_minute=3))
    big = embed_ctx("a", k, 600)
    assert await h.before_embeddings(big, EMBED) is EMBED
    with pytest.raises(RateLimited):                      # 600 + 500 > 1000; no output part
        await h.before_embeddings(embed_ctx("b", k, 500), EMBED)
    await h.before_embeddings(embed_ctx("c", k, 400), EMBED)
    big.usage = usage(100, 0)                             # settled to actual: 500 come back
    await h.finalize(big, Outcome())
    await h.before_embeddings(embed_ctx("d", k, 500), EMBED)
    with pytest.raises(RateLimited):                      # the fourth request this minute
        await h.before_embeddings(embed_ctx("e", k, 0), EMBED)


async def test_embeddings_without_token_limits_are_never_sized() -> None:
    h = hook(Now())
    c = ctx("a", key(KeySettings(requests_per_minute=5)))
    c.endpoint = "embeddings"                             # no sizing set: must not be read
    await h.before_embeddings(c, EMBED)
