"""Executor decisions from typed errors, with a scripted attempt and an injected clock."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

import pytest

from portico.adapters.base import Target
from portico.adapters.providers import builtin_providers
from portico.clock import ManualClock
from portico.config.model import (
    BreakerConfig,
    DeploymentConfig,
    ModelGroupConfig,
    PorticoConfig,
    ProviderConfig,
    RetryConfig,
)
from portico.errors import (
    GatewayError,
    GatewayUnavailable,
    UpstreamAuthError,
    UpstreamBadRequest,
    UpstreamConnectError,
    UpstreamContextLength,
    UpstreamRateLimited,
    UpstreamUnavailable,
)
from portico.pipeline.context import RequestContext
from portico.routing.breaker import BreakerBoard
from portico.routing.capacity import UnlimitedCapacity
from portico.routing.catalog import Deployment, build_catalog
from portico.routing.cooldown import KeyCooldown
from portico.routing.executor import Executor
from portico.routing.retry import RetryBudget
from portico.upstream.client import Timeouts

Script = dict[str, list[GatewayError | None]]


def executor(clock: ManualClock, group_retry: dict[str, RetryConfig] | None = None,
             breaker: BreakerConfig | None = None) -> Executor:
    providers = {
        "p1": ProviderConfig(type="openai", base_url="http://127.0.0.1:9/v1", internal=True),
        "p2": ProviderConfig(type="openai", base_url="http://127.0.0.1:9/v1", internal=True),
    }
    models = [
        ModelGroupConfig(name="g", deployments=[DeploymentConfig(provider="p1", model="a"),
                                                DeploymentConfig(provider="p2", model="b")],
                         context_fallback="big"),
        ModelGroupConfig(name="big", deployments=[DeploymentConfig(provider="p2",
                                                                   model="huge")]),
    ]
    cfg = PorticoConfig(providers=providers, models=models)
    return Executor(
        catalog=build_catalog(cfg, builtin_providers()), dialects={},
        breakers=BreakerBoard(breaker or BreakerConfig(), clock), cooldown=KeyCooldown(clock),
        budget=RetryBudget(clock), retry=RetryConfig(), clock=clock, rng=random.Random(0),
        capacity=UnlimitedCapacity(), group_retry=group_retry)


def scripted(script: Script, calls: list[str]
             ) -> Callable[[Target, Deployment, Timeouts], asyncio.Future[str]]:
    async def attempt(target: Target, dep: Deployment, timeouts: Timeouts) -> str:
        calls.append(dep.model)
        outcomes = script.get(dep.model, [])
        err = outcomes.pop(0) if outcomes else None
        if err is not None:
            raise err
        return dep.model
    return attempt  # type: ignore[return-value]


def ctx(clock: ManualClock) -> RequestContext:
    return RequestContext(request_id="r1", started=clock.monotonic(), ts_ms=0)


def unavailable(status: int = 503) -> UpstreamUnavailable:
    return UpstreamUnavailable("down", upstream_status=status)


async def test_503_retries_three_times_then_fails_over() -> None:
    clock, calls = ManualClock(), list[str]()
    ex = executor(clock)
    result, _ = await ex.run(ctx(clock), "g", scripted({"a": [unavailable()] * 9}, calls))
    assert result == "b" and calls == ["a"] * 4 + ["b"] and len(clock.slept) == 3


async def test_group_retry_config_is_honoured() -> None:
    clock, calls = ManualClock(), list[str]()
    ex = executor(clock, {"g": RetryConfig(retries_per_status={"503": 0})})
    result, _ = await ex.run(ctx(clock), "g", scripted({"a": [unavailable()]}, calls))
    assert result == "b" and calls == ["a", "b"] and clock.slept == []


async def test_group_deadline_bounds_429_waits() -> None:
    clock, calls = ManualClock(), list[str]()
    ex = executor(clock, {"g": RetryConfig(deadline_seconds=5.0)})
    limited = UpstreamRateLimited("slow down", retry_after=8.0, upstream_status=429)
    result, _ = await ex.run(ctx(clock), "g", scripted({"a": [limited]}, calls))
    assert result == "b" and clock.slept == []


async def test_bad_request_stops_after_one_attempt_with_its_status() -> None:
    clock, calls = ManualClock(), list[str]()
    ex = executor(clock)
    bad = UpstreamBadRequest("no", upstream_status=422)
    with pytest.raises(UpstreamBadRequest) as raised:
        await ex.run(ctx(clock), "g", scripted({"a": [bad]}, calls))
    assert calls == ["a"] and raised.value.status == 422


async def test_context_length_jumps_to_the_larger_group() -> None:
    clock, calls = ManualClock(), list[str]()
    ex = executor(clock)
    too_long = UpstreamContextLength("too long", upstream_status=400)
    result, _ = await ex.run(ctx(clock), "g", scripted({"a": [too_long]}, calls))
    assert result == "huge" and calls == ["a", "huge"]


async def test_auth_error_benches_the_key() -> None:
    clock, calls = ManualClock(), list[str]()
    ex = executor(clock)
    denied = UpstreamAuthError("no", upstream_status=401)
    await ex.run(ctx(clock), "g", scripted({"a": [denied]}, calls))
    await ex.run(ctx(clock), "g", scripted({}, calls))
    assert calls == ["a", "b", "b"]


async def test_connect_error_fails_over_without_waiting() -> None:
    clock, calls = ManualClock(), list[str]()
    ex = executor(clock)
    result, _ = await ex.run(ctx(clock), "g",
                             scripted({"a": [UpstreamConnectError("refused")]}, calls))
    assert result == "b" and clock.slept == []


async def test_all_open_is_503_with_shortest_remaining() -> None:
    clock, calls = ManualClock(), list[str]()
    ex = executor(clock, breaker=BreakerConfig(consecutive_failures=1, open_seconds=30.0))
    script: Script = {"a": [UpstreamConnectError("x")], "b": [UpstreamConnectError("x")]}
    with pytest.raises(GatewayError):
        await ex.run(ctx(clock), "g", scripted(script, calls))
    clock.advance(4.0)
    with pytest.raises(GatewayUnavailable) as raised:
        await ex.run(ctx(clock), "g", scripted({}, calls))
    assert raised.value.retry_after == pytest.approx(26.0)
    assert calls == ["a", "b"]


async def test_cancelled_probe_is_released() -> None:
    clock = ManualClock()
    ex = executor(clock, breaker=BreakerConfig(consecutive_failures=1, open_seconds=30.0))
    calls: list[str] = []
    with pytest.raises(GatewayError):
        await ex.run(ctx(clock), "g", scripted({"a": [UpstreamConnectError("x")],
                                                "b": [UpstreamConnectError("x")]}, calls))
    clock.advance(31.0)

    async def hang(target: Target, dep: Deployment, timeouts: Timeouts) -> str:
        await asyncio.sleep(3600)
        return "never"

    task = asyncio.ensure_future(ex.run(ctx(clock), "g", hang))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    result, _ = await ex.run(ctx(clock), "g", scripted({}, calls))   # probe free again
    assert result == "a"
