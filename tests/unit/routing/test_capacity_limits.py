"""The capacity stack on Redis: inbound limits are deferred to the first upstream admission and
go out in the same atomic script (one round trip); a full upstream key takes nothing from the
client, a client over its own limit gets a 429 that the executor does not fail over on."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as redis_asyncio

from portico.accounting.config_prices import gateway_catalog
from portico.accounting.estimate import RequestEstimator
from portico.accounting.tokens import TokenCounter
from portico.adapters.providers import builtin_providers
from portico.clock import SystemClock
from portico.config.loader import parse_config
from portico.errors import RateLimited
from portico.limits import LimitKey, LimitKind, LimitRule, RedisLimiter
from portico.pipeline._reserving import InboundRateLimited
from portico.pipeline.context import RequestContext
from portico.pipeline.hooks import Outcome
from portico.routing.capacity_limits import CapacityStack
from portico.routing.catalog import build_catalog
from portico.schema.chat import ChatRequest, UserMessage
from portico.schema.response import Usage
from portico.store.records import KeyRecord, KeySettings

REDIS_URL = "redis://127.0.0.1:6379/0"
REQ = ChatRequest(model="m", messages=[UserMessage(content="hello there")])
USAGE = Usage(prompt_tokens=5, completion_tokens=5, total_tokens=10)


def _yaml(prefix: str, key_limits: str) -> str:
    return f"""
master_key: "env:CAP_TEST_KEY"
redis: {{url: "{REDIS_URL}", prefix: "{prefix}"}}
limits: {{queue_max_wait_seconds: 0.0, adaptive: false}}
providers:
  openai: {{base_url: "http://127.0.0.1:9/v1", internal: true,
            keys: [{{id: k1, key: "env:CAP_TEST_KEY", limits: {{{key_limits}}}}}]}}
models:
  - name: m
    deployments: [{{provider: openai, model: gpt-4o-mini}}]
"""


@pytest.fixture
async def make(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Any]:
    monkeypatch.setenv("CAP_TEST_KEY", "sk-test-1")
    prefix = f"portico-test:{uuid.uuid4().hex}"
    stacks: list[CapacityStack] = []

    def build(key_limits: str) -> CapacityStack:
        cfg = parse_config(_yaml(prefix, key_limits))
        catalog = build_catalog(cfg, builtin_providers())
        prices = gateway_catalog(cfg.prices, cfg.prices_file)
        stack = CapacityStack(cfg, catalog, RequestEstimator(TokenCounter(), prices),
                              SystemClock())
        stacks.append(stack)
        return stack

    yield build
    for stack in stacks:
        await stack.close()
    client = redis_asyncio.Redis.from_url(REDIS_URL)
    keys = [k async for k in client.scan_iter(match=f"{prefix}*", count=1000)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


def _ctx(rid: str, rpm: int = 100, parallel: int = 10) -> RequestContext:
    key = KeyRecord(id="vk_1", name="k", key_hash="h", prefix="sk-", created_at_ms=0,
                    settings=KeySettings(requests_per_minute=rpm, max_parallel=parallel))
    return RequestContext(request_id=rid, started=0.0, ts_ms=0, key=key, model_requested="m")


def _target(stack: CapacityStack) -> Any:
    return stack.gate._catalog.resolve("m").deployments[0].targets[0]


def _counting(stack: CapacityStack) -> list[str]:
    assert stack.redis is not None
    calls: list[str] = []
    real = stack.redis._call

    async def counted(script: str, keys: list[str], args: list[str], argc: int) -> Any:
        calls.append(script)
        return await real(script, keys, args, argc)

    stack.redis._call = counted  # type: ignore[method-assign]
    return calls


async def _used(stack: CapacityStack, kind: LimitKind, cap: int) -> float:
    assert stack.redis is not None
    probe: RedisLimiter = stack.redis
    return await probe.usage(LimitRule(LimitKey("vkey:vk_1", kind), cap, lease_seconds=1))


async def test_inbound_goes_out_with_the_upstream_admission(make: Any) -> None:
    stack: CapacityStack = make("requests_per_minute: 1000, concurrency: 5")
    calls = _counting(stack)
    ctx = _ctx("r1")
    for hook in stack.hooks:
        await hook.before(ctx, REQ)
    assert calls == []                                # nothing sent before an attempt
    lease = await stack.gate.acquire(ctx, _target(stack), REQ)
    await lease.settle(USAGE, None)
    ctx.usage = USAGE
    for hook in reversed(stack.hooks):
        await hook.finalize(ctx, Outcome())
    # One awaited round trip for both scopes; the two settles were posted, not awaited.
    assert calls == ["reserve"]
    assert await _used(stack, LimitKind.CONCURRENCY, 10) == 0.0
    assert await _used(stack, LimitKind.REQUESTS_PER_MINUTE, 100) > 0


async def test_full_upstream_key_takes_nothing_from_the_client(make: Any) -> None:
    stack: CapacityStack = make("concurrency: 1")
    first, second = _ctx("r1"), _ctx("r2")
    for ctx in (first, second):
        for hook in stack.hooks:
            await hook.before(ctx, REQ)
    await stack.gate.acquire(first, _target(stack), REQ)
    assert await _used(stack, LimitKind.CONCURRENCY, 10) == 0.1
    with pytest.raises(RateLimited) as info:
        await stack.gate.acquire(second, _target(stack), REQ)
    assert info.value.code == "upstream_capacity"
    assert await _used(stack, LimitKind.CONCURRENCY, 10) == 0.1   # only the first request


async def test_client_over_its_limit_is_refused_without_failover(make: Any) -> None:
    stack: CapacityStack = make("concurrency: 5")
    first, second = _ctx("r1", parallel=1), _ctx("r2", parallel=1)
    for ctx in (first, second):
        for hook in stack.hooks:
            await hook.before(ctx, REQ)
    await stack.gate.acquire(first, _target(stack), REQ)
    with pytest.raises(InboundRateLimited) as info:
        await stack.gate.acquire(second, _target(stack), REQ)
    assert not isinstance(info.value, RateLimited) and info.value.status == 429
    for hook in reversed(stack.hooks):       # the refused request finalizes cleanly
        await hook.finalize(second, Outcome(error=info.value))


async def test_request_that_never_reaches_an_attempt_is_not_charged(make: Any) -> None:
    stack: CapacityStack = make("concurrency: 5")
    ctx = _ctx("r1")
    for hook in stack.hooks:
        await hook.before(ctx, REQ)
    for hook in reversed(stack.hooks):
        await hook.finalize(ctx, Outcome())
    assert await _used(stack, LimitKind.REQUESTS_PER_MINUTE, 100) == 0.0
    assert stack.gate.inbound is not None and stack.gate.inbound.pending("r1") is None


async def test_costly_work_first_takes_the_deferred_reservation_at_once(make: Any) -> None:
    # PII detection calls `admit_now` before it runs: a client over its limits is refused
    # before it costs the detection, and the attempt then reserves only the upstream key.
    stack: CapacityStack = make("concurrency: 5")
    inbound = stack.gate.inbound
    assert inbound is not None and inbound.defer
    calls = _counting(stack)
    first, second = _ctx("r1", parallel=1), _ctx("r2", parallel=1)
    for hook in stack.hooks:
        await hook.before(first, REQ)
    await inbound.admit_now(first)
    assert calls == ["reserve"] and inbound.pending("r1") is None
    assert await _used(stack, LimitKind.CONCURRENCY, 1) == 1.0
    lease = await stack.gate.acquire(first, _target(stack), REQ)
    # The key alone: the client's slot was already held, and is not taken twice.
    assert calls.count("reserve") == 2
    assert await _used(stack, LimitKind.CONCURRENCY, 1) == 1.0
    for hook in stack.hooks:
        await hook.before(second, REQ)
    with pytest.raises(RateLimited):               # refused here, before any detection
        await inbound.admit_now(second)
    await lease.settle(USAGE, None)
    first.usage = USAGE
    for hook in reversed(stack.hooks):
        await hook.finalize(second, Outcome())
        await hook.finalize(first, Outcome())
    assert await _used(stack, LimitKind.CONCURRENCY, 1) == 0.0
