from __future__ import annotations

import asyncio

from portico.limits import Amounts, Denied, LimitKey, LimitKind, LimitRule, MemoryLimiter
from portico.limits.queue import Priority, PriorityGate

CONC = LimitRule(LimitKey("upstream-key:openai:main", LimitKind.CONCURRENCY), 5)
RPM = LimitRule(LimitKey("upstream-key:openai:main", LimitKind.REQUESTS_PER_MINUTE), 60)
ONE = Amounts(concurrency=1)


class FakeTime:
    """A clock plus a sleep that only returns when the test advances the clock."""

    def __init__(self) -> None:
        self.t = 1_000.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def __call__(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.t + seconds, fut))
        await fut

    async def advance(self, seconds: float) -> None:
        self.t += seconds
        for due, fut in list(self._sleepers):
            if due <= self.t and not fut.done():
                fut.set_result(None)
        await settle_loop()


async def settle_loop() -> None:
    for _ in range(100):
        await asyncio.sleep(0)


def gate_for(ft: FakeTime, **kw: float) -> tuple[PriorityGate, MemoryLimiter]:
    limiter = MemoryLimiter(clock=ft)
    return PriorityGate(limiter, clock=ft, sleep=ft.sleep, **kw), limiter


async def test_waiter_is_woken_by_release_not_by_polling() -> None:
    ft = FakeTime()
    gate, _ = gate_for(ft)
    held = [await gate.acquire([CONC], ONE) for _ in range(5)]
    task = asyncio.create_task(gate.acquire([CONC], ONE))
    await settle_loop()
    assert not task.done() and gate.waiting == 1
    await held[0].release()  # type: ignore[union-attr]
    await settle_loop()
    assert task.done() and not isinstance(task.result(), Denied)
    assert ft.t == 1_000.0  # no simulated time passed: the release woke it


async def test_high_goes_before_normal_before_low() -> None:
    ft = FakeTime()
    gate, _ = gate_for(ft, low_threshold=1.01)
    held = [await gate.acquire([CONC], ONE) for _ in range(5)]
    order: list[str] = []

    async def want(name: str, prio: Priority) -> None:
        r = await gate.acquire([CONC], ONE, prio)
        assert not isinstance(r, Denied)
        order.append(name)

    tasks = [asyncio.create_task(want(n, p)) for n, p in
             [("low", Priority.LOW), ("normal", Priority.NORMAL), ("high", Priority.HIGH)]]
    await settle_loop()
    for r in held[:3]:
        await r.settle(Amounts())  # type: ignore[union-attr]
        await settle_loop()
    await asyncio.gather(*tasks)
    assert order == ["high", "normal", "low"]


async def test_low_waits_above_threshold_while_high_proceeds() -> None:
    ft = FakeTime()
    gate, limiter = gate_for(ft)
    for _ in range(4):  # 4 of 5 slots: 80% utilisation
        assert not isinstance(await gate.acquire([CONC], ONE), Denied)
    low = asyncio.create_task(gate.acquire([CONC], ONE, Priority.LOW, max_wait=5))
    await settle_loop()
    assert not low.done()
    high = await gate.acquire([CONC], ONE, Priority.HIGH)
    assert not isinstance(high, Denied)
    await ft.advance(5)
    d = low.result()
    assert isinstance(d, Denied) and d.key == CONC.key and d.retry_after > 0
    assert await limiter.usage(CONC) == 1.0


async def test_gives_up_after_max_wait_with_retry_after() -> None:
    ft = FakeTime()
    gate, _ = gate_for(ft, max_wait=2.0)
    slow = LimitRule(RPM.key, 6)  # one request back every 10 s
    for _ in range(6):
        await gate.acquire([slow], Amounts(requests=1))
    task = asyncio.create_task(gate.acquire([slow], Amounts(requests=1)))
    await settle_loop()
    await ft.advance(0.5)
    assert not task.done()
    await ft.advance(1.5)
    d = task.result()
    assert isinstance(d, Denied) and d.key == RPM.key
    assert d.retry_after == 8.0
    assert gate.waiting == 0


async def test_timer_wakes_for_capacity_freed_elsewhere() -> None:
    ft = FakeTime()
    gate, _ = gate_for(ft, max_wait=10.0)
    for _ in range(60):
        await gate.acquire([RPM], Amounts(requests=1))
    task = asyncio.create_task(gate.acquire([RPM], Amounts(requests=1)))
    await settle_loop()
    await ft.advance(1.0)  # the bucket refills one request per second; retry_after said so
    assert task.done() and not isinstance(task.result(), Denied)


async def test_cancelled_waiter_leaves_the_queue() -> None:
    ft = FakeTime()
    gate, _ = gate_for(ft)
    for _ in range(5):
        await gate.acquire([CONC], ONE)
    task = asyncio.create_task(gate.acquire([CONC], ONE))
    await settle_loop()
    task.cancel()
    await settle_loop()
    assert gate.waiting == 0
