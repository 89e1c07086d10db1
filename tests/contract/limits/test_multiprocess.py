"""Three OS processes share one Redis key set: the fleet-wide limit holds under contention."""

from __future__ import annotations

import asyncio
import multiprocessing
import random
from collections import deque
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

import pytest

from portico.limits import (
    Amounts,
    Denied,
    LimitKey,
    LimitKind,
    LimitRule,
    RedisLimiter,
    Reservation,
)

from .conftest import REDIS_URL, T0, purge

SCOPE = "upstream-key:openai:shared"
# (requests per minute, tokens per minute): one scenario where each limit is the binding one.
CAPACITIES = {"requests-bind": (50, 100_000), "tokens-bind": (1_000, 20_000)}
SIM_SECONDS, STEPS = 120.0, 120
ESTIMATE, MAX_ACTUAL, IN_FLIGHT = 500, 900, 4


async def _hammer(prefix: str, seed: int, per_step: int, barrier: Barrier,
                  caps: tuple[int, int]) -> tuple[int, int]:
    """Walk the simulated window in lock-step with the peers (a barrier per simulated second),
    `per_step` attempts per step, so the processes' `now` values stay within one step."""
    rng = random.Random(seed)
    rules = _rules(caps)
    limiter = RedisLimiter.from_url(REDIS_URL, prefix=prefix, timeout_ms=5000)
    admitted = used = 0
    pending: deque[Reservation] = deque()

    async def settle_oldest(now: float) -> None:
        nonlocal used
        actual = rng.randint(100, MAX_ACTUAL)
        used += actual
        await pending.popleft().settle(Amounts(requests=1, tokens=actual), now=now)

    try:
        step_len = SIM_SECONDS / STEPS
        for step in range(STEPS):
            barrier.wait(timeout=60)
            for j in range(per_step):
                now = T0 + step * step_len + step_len * j / per_step
                r = await limiter.reserve(rules, Amounts(requests=1, tokens=ESTIMATE),
                                          now=now)
                if isinstance(r, Denied):
                    continue
                admitted += 1
                pending.append(r)
                while len(pending) >= IN_FLIGHT:  # up to IN_FLIGHT requests outstanding
                    await settle_oldest(now)
        while pending:
            await settle_oldest(T0 + SIM_SECONDS)
    finally:
        await limiter.aclose()
    return admitted, used


def _rules(caps: tuple[int, int]) -> list[LimitRule]:
    return [LimitRule(LimitKey(SCOPE, LimitKind.REQUESTS_PER_MINUTE), caps[0]),
            LimitRule(LimitKey(SCOPE, LimitKind.TOKENS_PER_MINUTE), caps[1])]


def _worker(prefix: str, seed: int, per_step: int, barrier: Barrier, caps: tuple[int, int],
            out: Queue[tuple[int, int]]) -> None:
    out.put(asyncio.run(_hammer(prefix, seed, per_step, barrier, caps)))


def _run(prefix: str, per_step: list[int], caps: tuple[int, int]) -> list[tuple[int, int]]:
    ctx = multiprocessing.get_context("spawn")
    out: Queue[tuple[int, int]] = ctx.Queue()
    barrier = ctx.Barrier(len(per_step))
    procs = [ctx.Process(target=_worker, args=(prefix, seed, n, barrier, caps, out))
             for seed, n in enumerate(per_step)]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    return results


@pytest.mark.redis
@pytest.mark.parametrize("binding", sorted(CAPACITIES))
@pytest.mark.parametrize("per_step", [[8, 8, 8], [18, 1, 1]],
                         ids=["even", "skewed-90-5-5"])
async def test_three_processes_respect_the_shared_limit(prefix: str, per_step: list[int],
                                                        binding: str) -> None:
    rpm, tpm = CAPACITIES[binding]
    try:
        results = await asyncio.to_thread(_run, prefix, per_step, (rpm, tpm))
    finally:
        await purge(prefix)
    admitted = sum(a for a, _ in results)
    used = sum(u for _, u in results)
    minutes = SIM_SECONDS / 60
    # A bucket admits its capacity plus what refilled during the simulated window.
    request_bound = rpm * (1 + minutes)
    token_bound = tpm * (1 + minutes)
    assert admitted <= request_bound + 3
    # Overuse beyond the estimate is charged as debt, so at most the in-flight overuse leaks.
    assert used <= token_bound + len(per_step) * IN_FLIGHT * (MAX_ACTUAL - ESTIMATE)
    # The limit did bind (the hammering was real contention, not a trickle).
    assert admitted >= 0.8 * min(request_bound, token_bound / ESTIMATE)
    assert all(a > 0 for a, _ in results)
