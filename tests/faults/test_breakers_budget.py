"""Circuit breakers and the retry budget, driven by simulator faults and an injected clock."""

from __future__ import annotations

import asyncio
from pathlib import Path

from portico.config.model import BreakerConfig, PorticoConfig
from tests.faults.conftest import Env, OverlapClock, fault_env, manual


def _breaker(cfg: PorticoConfig) -> None:
    cfg.breaker = BreakerConfig(consecutive_failures=3, open_seconds=30.0, min_calls=100)


def _count(env: Env, model: str) -> int:
    sims = env.sims
    return sum(1 for s in sims.values() for e in s.ledger.entries() if e.model == model)


async def test_breaker_opens_half_opens_and_closes(tmp_path: Path) -> None:
    async with fault_env(tmp_path, tweak=_breaker) as env:
        env.push(status=500, model="pair-a", times=None)
        first = await env.chat("pair")
        assert first.status == 200                        # 3 failures on a, served by b
        assert _count(env, "pair-a") == 3
        [view] = [v for v in env.gw.breakers.views() if "pair-a" in v.deployment]
        assert view.state == "open"
        for _ in range(5):
            r = await env.chat("pair")
            assert r.status == 200 and r.headers["x-portico-attempts"] == "1"
        assert _count(env, "pair-a") == 3                 # zero requests while open
        manual(env).advance(31.0)
        probe = await env.chat("pair")                    # half-open: one probe, fails
        assert _count(env, "pair-a") == 4 and probe.status == 200
        assert env.gw.breakers.get(first_deployment(env)).state(
            manual(env).monotonic()).value == "open"
        manual(env).advance(31.0)
        env.sims["openai"].faults.clear()
        healed = await env.chat("pair")                   # the probe succeeds: closed
        assert healed.headers["x-portico-attempts"] == "1" and _count(env, "pair-a") == 5
        [view] = [v for v in env.gw.breakers.views() if "pair-a" in v.deployment]
        assert view.state == "closed"


def first_deployment(env: Env) -> str:
    views = env.gw.breakers.views()
    return next(v.deployment for v in views if "pair-a" in v.deployment)


async def test_all_open_answers_503_with_shortest_retry_after(tmp_path: Path) -> None:
    async with fault_env(tmp_path, tweak=_breaker) as env:
        env.push(status=500, model="pair-a", times=None)
        env.push(status=500, model="pair-b", times=None)
        await env.chat("pair")                            # a: 3 failures, b: 3 failures
        clock = manual(env)
        clock.advance(5.0)
        slept = len(clock.slept)
        before = _count(env, "pair-a") + _count(env, "pair-b")
        r = await env.chat("pair")
        assert r.status == 503
        body = r.json()
        assert isinstance(body, dict) and body["error"]["code"] == "no_healthy_deployment"
        # a opened first, so a's remaining open time is the shortest (< 30 - 5).
        assert 1 <= int(r.headers["retry-after"]) <= 25
        assert _count(env, "pair-a") + _count(env, "pair-b") == before
        assert len(clock.slept) == slept                  # answered without waiting


def _no_breaker(cfg: PorticoConfig) -> None:
    cfg.breaker = BreakerConfig(consecutive_failures=10_000, min_calls=10_000)


async def test_retry_budget_bounds_attempts_under_total_failure(tmp_path: Path) -> None:
    async with fault_env(tmp_path, clock=OverlapClock(), tweak=_no_breaker) as env:
        env.push(status=503, model="pair-a", times=None)
        env.push(status=503, model="pair-b", times=None)
        replies = await asyncio.gather(*(env.chat("pair") for _ in range(200)))
        assert all(r.status == 503 for r in replies)
        attempts = _count(env, "pair-a") + _count(env, "pair-b")
        assert attempts / len(replies) <= 1.2
