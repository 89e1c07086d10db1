"""The error policy table, one upstream fault per test, through the whole gateway."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from portico.config.model import PorticoConfig
from tests.faults.conftest import Env, OverlapClock, fault_env, manual


async def test_429_retry_after_seconds(env: Env) -> None:
    env.push(status=429, retry_after=2, model="solo-m")
    r = await env.chat("solo")
    assert r.status == 200 and r.headers["x-portico-attempts"] == "2"
    assert len(env.upstream(r.request_id)) == 2
    [wait] = manual(env).slept
    assert 2.0 <= wait <= 2.5


async def test_429_retry_after_http_date(env: Env) -> None:
    env.push(status=429, retry_after_date=3, model="solo-m")
    r = await env.chat("solo")
    assert r.status == 200 and r.headers["x-portico-attempts"] == "2"
    [wait] = manual(env).slept
    # HTTP-dates have one-second resolution and uvicorn refreshes its Date header once a
    # second, so "3 s ahead" reads as 2-4 s, plus up to 0.5 s of jitter.
    assert 1.0 <= wait <= 4.75


async def test_429_retry_after_ms(env: Env) -> None:
    env.push(status=429, retry_after_ms=1500, model="solo-m")
    r = await env.chat("solo")
    assert r.status == 200
    [wait] = manual(env).slept
    assert 1.5 <= wait <= 1.875


def _short_deadline(cfg: PorticoConfig) -> None:
    cfg.retry.deadline_seconds = 10.0


async def test_429_retry_after_past_deadline_fails_over_at_once(tmp_path: Path) -> None:
    async with fault_env(tmp_path, tweak=_short_deadline) as env:
        env.push(status=429, retry_after=30, model="pair-a")
        r = await env.chat("pair")
        assert r.status == 200 and r.headers["x-portico-provider"] == "openai"
        assert [e.model for e in env.upstream(r.request_id)] == ["pair-a", "pair-b"]
        assert manual(env).slept == []


async def test_429_retry_after_past_deadline_returns_429(tmp_path: Path) -> None:
    async with fault_env(tmp_path, tweak=_short_deadline) as env:
        env.push(status=429, retry_after=30, model="solo-m")
        r = await env.chat("solo")
        assert r.status == 429 and r.headers["retry-after"] == "30"
        assert len(env.upstream(r.request_id)) == 1
        assert manual(env).slept == []


def _generous_budget(cfg: PorticoConfig) -> None:
    cfg.retry.budget_ratio = 1.0


async def test_429_without_retry_after_spreads_200_concurrent(tmp_path: Path) -> None:
    async with fault_env(tmp_path, clock=OverlapClock(), tweak=_generous_budget) as env:
        env.push(status=429, model="solo-m", times=200)
        replies = await asyncio.gather(*(env.chat("solo") for _ in range(200)))
        assert {r.status for r in replies} <= {200, 429}
        delays = sorted(manual(env).slept)
        assert len(delays) >= 100
        assert all(0.0 <= d <= 4.0 for d in delays)
        first = [d for d in delays if d <= 0.5]       # first retries: full jitter in [0, 0.5]
        assert len(first) >= 80
        # No synchronized burst: no 50 ms slice holds more than a fifth of the delays, the
        # delays are all distinct and they cover the whole jitter range.
        densest = max(sum(1 for x in delays if d <= x < d + 0.05) for d in delays)
        assert densest <= len(delays) // 5
        assert len(set(delays)) == len(delays)
        assert min(first) < 0.1 and max(first) > 0.4


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_5xx_retried_with_backoff(env: Env, status: int) -> None:
    env.push(status=status, model="solo-m")
    r = await env.chat("solo")
    assert r.status == 200 and r.headers["x-portico-attempts"] == "2"
    assert len(manual(env).slept) == 1


async def test_503_three_retries_then_failover(env: Env) -> None:
    env.push(status=503, model="pair-a", times=None)
    r = await env.chat("pair")
    assert r.status == 200
    assert [e.model for e in env.upstream(r.request_id)] == ["pair-a"] * 4 + ["pair-b"]
    assert r.headers["x-portico-attempts"] == "5"


async def test_500_retries_within_budget_then_failover(env: Env) -> None:
    env.push(status=500, model="pair-a", times=None)
    r = await env.chat("pair")
    assert r.status == 200
    assert [e.model for e in env.upstream(r.request_id)] == ["pair-a"] * 3 + ["pair-b"]


async def test_anthropic_529_overloaded_retried(env: Env) -> None:
    env.push("anthropic", status=529, model="claude-x")
    r = await env.chat("claude")
    assert r.status == 200 and r.headers["x-portico-attempts"] == "2"


@pytest.mark.parametrize("status", [400, 404, 409, 413, 422])
async def test_4xx_exactly_one_attempt(env: Env, status: int,
                                       caplog: pytest.LogCaptureFixture) -> None:
    env.push(status=status, model="pair-a", message="bad thing sk-abcdefghijklmnop")
    with caplog.at_level(logging.WARNING, logger="portico.routing"):
        r = await env.chat("pair")
    assert r.status == status
    body = r.json()
    assert isinstance(body, dict)
    assert "sk-abcdefghijklmnop" not in r.body.decode()
    assert body["error"]["message"]
    assert len(env.upstream(r.request_id)) == 1
    row = await env.row(r.request_id)
    assert len(row.attempts) == 1 and row.status == "error"
    logged = "\n".join(rec.getMessage() for rec in caplog.records)
    assert r.request_id in logged and "chars sha256:" in logged
    assert "hello there" not in logged


async def test_401_benches_the_key(env: Env) -> None:
    env.push(status=401, model="pair-a")
    r = await env.chat("pair")
    assert r.status == 200
    assert [e.model for e in env.upstream(r.request_id)] == ["pair-a", "pair-b"]
    again = await env.chat("pair")   # the benched key is never retried
    assert [e.model for e in env.upstream(again.request_id)] == ["pair-b"]
    assert manual(env).slept == []


async def test_connection_refused_fails_over_at_once(env: Env) -> None:
    r = await env.chat("dead")
    assert r.status == 200 and r.headers["x-portico-attempts"] == "2"
    row = await env.row(r.request_id)
    assert row.attempts[0].error_code == "upstream_connect_error"
    assert manual(env).slept == []


@pytest.mark.parametrize("fault", [{"malformed": True}, {"html": True}, {"cut_after": 1}])
async def test_bad_bodies_are_502_sanitized_and_counted(env: Env,
                                                        fault: dict[str, object]) -> None:
    env.push(model="solo-m", times=None, **fault)
    r = await env.chat("solo")
    assert r.status == 502
    text = r.body.decode().lower()
    assert "<html" not in text and "nginx" not in text
    [view] = [v for v in env.gw.breakers.views() if "solo-m" in v.deployment]
    assert view.window_failures >= 1


async def test_context_length_fails_over_to_the_larger_context_group(env: Env) -> None:
    env.push(status=400, code="context_length_exceeded", model="short-m")
    r = await env.chat("short")
    assert r.status == 200 and r.headers["x-portico-attempts"] == "2"
    assert [e.model for e in env.upstream(r.request_id)] == ["short-m", "long-m"]


async def test_context_length_without_a_fallback_is_a_400(env: Env) -> None:
    env.push(status=400, code="context_length_exceeded", model="solo-m")
    r = await env.chat("solo")
    assert r.status == 400
    body = r.json()
    assert isinstance(body, dict) and body["error"]["code"] == "context_length_exceeded"
    assert len(env.upstream(r.request_id)) == 1
