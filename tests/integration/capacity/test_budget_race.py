"""Budget race across three processes sharing Redis: 100 requests with a worst case of $0.05
against a $1.00 budget, released together, 20 rounds; then with 30% failing or cancelled.
Settled spend never exceeds the budget, no request is refused while its reservation fitted,
and no reservation is left over."""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import secrets
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

import pytest

from portico.config.model import LimitsConfig
from portico.errors import BudgetExceeded
from portico.limits import BudgetPeriod, RedisLimiter
from portico.pipeline.budget import BudgetHook, budget_rule
from portico.pipeline.context import RequestContext
from portico.pipeline.hooks import Outcome
from portico.schema.chat import ChatRequest, UserMessage
from portico.schema.response import Usage
from portico.store.records import KeyRecord, KeySettings

REDIS_URL = "redis://127.0.0.1:6379/0"
BUDGET, WORST, REQUESTS, ROUNDS, PROCS = 1_000_000, 50_000, 100, 20, 3


def _key(round_no: int, tag: str) -> KeyRecord:
    return KeyRecord(id=f"vk_{tag}_{round_no}", name="race", key_hash="h", prefix="sk",
                     created_at_ms=0, settings=KeySettings(budget_micros_daily=BUDGET))


async def _rounds(index: int, prefix: str, fail_share: float, barrier: Barrier,
                  out: Queue[tuple[int, int, int, int, int]]) -> None:
    rng = random.Random(index)
    limiter = RedisLimiter.from_url(REDIS_URL, prefix=prefix, timeout_ms=2000)
    hook = BudgetHook(limiter, LimitsConfig(), lambda ctx, req: WORST)
    req = ChatRequest(model="m", messages=[UserMessage(content="hi")])
    mine = REQUESTS // PROCS + (1 if index < REQUESTS % PROCS else 0)
    try:
        for r in range(ROUNDS):
            key = _key(r, prefix)
            stats = [0, 0, 0, 0]   # admitted, refused, settled micros, settled count

            async def one(n: int, key: KeyRecord = key, stats: list[int] = stats,
                          r: int = r) -> None:
                ctx = RequestContext(request_id=f"p{index}-{r}-{n}", started=0.0, ts_ms=0,
                                     key=key)
                try:
                    await hook.before(ctx, req)
                except BudgetExceeded:
                    stats[1] += 1
                    return
                stats[0] += 1
                await asyncio.sleep(rng.random() * 0.01)
                if rng.random() < fail_share:   # failed upstream or client cancel: no usage
                    await hook.finalize(ctx, Outcome(cancelled=True))
                    return
                ctx.usage = Usage(prompt_tokens=1, completion_tokens=1, total_tokens=2)
                ctx.cost_micros = WORST    # settle at the worst case: spend is monotonic
                await hook.finalize(ctx, Outcome())
                stats[2] += WORST
                stats[3] += 1

            await asyncio.to_thread(barrier.wait)
            await asyncio.gather(*(one(n) for n in range(mine)))
            out.put((r, stats[0], stats[1], stats[2], stats[3]))
    finally:
        await limiter.aclose()


def _worker(index: int, prefix: str, fail_share: float, barrier: Barrier,
            out: Queue[tuple[int, int, int, int, int]]) -> None:
    asyncio.run(_rounds(index, prefix, fail_share, barrier, out))


@pytest.mark.parametrize("fail_share", [0.0, 0.3], ids=["all-succeed", "30pct-fail"])
async def test_budget_race_across_processes(fail_share: float) -> None:
    prefix = "race" + secrets.token_hex(4)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCS)
    out: Queue[tuple[int, int, int, int, int]] = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(i, prefix, fail_share, barrier, out))
             for i in range(PROCS)]
    for p in procs:
        p.start()
    results = [await asyncio.to_thread(out.get, True, 120) for _ in range(PROCS * ROUNDS)]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    limiter = RedisLimiter.from_url(REDIS_URL, prefix=prefix, timeout_ms=2000)
    try:
        for r in range(ROUNDS):
            rows = [x for x in results if x[0] == r]
            admitted, refused, settled, settled_n = (sum(x[i] for x in rows)
                                                     for i in range(1, 5))
            assert admitted + refused == REQUESTS
            assert settled <= BUDGET
            rule = budget_rule(f"vkey:{_key(r, prefix).id}", BudgetPeriod.DAILY, BUDGET)
            held = round(await limiter.usage(rule) * BUDGET)
            assert held == settled                  # nothing left reserved
            if fail_share == 0.0:
                assert admitted == BUDGET // WORST  # every fitting reservation admitted
            elif refused:
                # A refusal means ≥ 20 reservations were live or settled at that moment.
                assert admitted >= BUDGET // WORST and settled_n <= BUDGET // WORST
    finally:
        await limiter.aclose()
