"""One contract, two backends: every test runs against MemoryLimiter and the real local Redis."""

from __future__ import annotations

import asyncio

import pytest

from portico.limits import (
    Algorithm,
    Amounts,
    BudgetPeriod,
    Denied,
    DenyReason,
    Limiter,
    LimitKey,
    LimitKind,
    LimitRule,
    Reservation,
    period_end,
)

from .conftest import T0, FakeClock

K = LimitKind
RPM = LimitRule(LimitKey("upstream-key:openai:main", K.REQUESTS_PER_MINUTE), 10)
TPM = LimitRule(LimitKey("upstream-key:openai:main", K.TOKENS_PER_MINUTE), 1000)
CONC = LimitRule(LimitKey("upstream-key:openai:main", K.CONCURRENCY), 2, lease_seconds=30)
BUDGET = LimitRule(LimitKey("team:eng", K.BUDGET), 500_000, period=BudgetPeriod.DAILY)


def held(r: Reservation | Denied) -> Reservation:
    assert not isinstance(r, Denied), r
    return r


def denied(r: Reservation | Denied) -> Denied:
    assert isinstance(r, Denied), r
    return r


async def test_bucket_starts_full_and_refills_continuously(limiter: Limiter,
                                                           clock: FakeClock) -> None:
    for _ in range(10):
        held(await limiter.reserve([RPM], Amounts(requests=1)))
    d = denied(await limiter.reserve([RPM], Amounts(requests=1)))
    assert d.key == RPM.key and d.reason is DenyReason.CAPACITY
    assert d.retry_after == pytest.approx(6.0)  # 10/min refills one every 6 s
    clock.advance(5.9)
    denied(await limiter.reserve([RPM], Amounts(requests=1)))
    clock.advance(0.2)
    held(await limiter.reserve([RPM], Amounts(requests=1)))
    clock.advance(600)  # refill caps at capacity
    for _ in range(10):
        held(await limiter.reserve([RPM], Amounts(requests=1)))
    denied(await limiter.reserve([RPM], Amounts(requests=1)))


async def test_amount_above_capacity_never_fits(limiter: Limiter) -> None:
    d = denied(await limiter.reserve([TPM], Amounts(tokens=1001)))
    assert d.reason is DenyReason.EXCEEDS_CAPACITY
    assert await limiter.usage(TPM) == 0.0


async def test_all_or_nothing_across_keys(limiter: Limiter) -> None:
    vkey = LimitRule(LimitKey("vkey:abc", K.TOKENS_PER_MINUTE), 400)
    held(await limiter.reserve([vkey], Amounts(tokens=300)))
    d = denied(await limiter.reserve([RPM, TPM, vkey], Amounts(requests=1, tokens=200)))
    assert d.key == vkey.key
    # Nothing was taken from the keys that had room.
    assert await limiter.usage(RPM) == 0.0
    assert await limiter.usage(TPM) == 0.0
    held(await limiter.reserve([RPM, TPM, vkey], Amounts(requests=1, tokens=100)))
    assert await limiter.usage(TPM) == pytest.approx(0.1)


async def test_denial_reports_the_longest_wait(limiter: Limiter) -> None:
    held(await limiter.reserve([RPM, TPM], Amounts(requests=10, tokens=1000)))
    d = denied(await limiter.reserve([RPM, TPM], Amounts(requests=1, tokens=500)))
    assert d.key == TPM.key
    assert d.retry_after == pytest.approx(30.0)


async def test_settle_returns_unused_and_charges_overuse(limiter: Limiter) -> None:
    r = held(await limiter.reserve([RPM, TPM], Amounts(requests=1, tokens=1000)))
    assert await limiter.usage(TPM) == pytest.approx(1.0)
    await r.settle(Amounts(requests=1, tokens=300))
    assert await limiter.usage(TPM) == pytest.approx(0.3)
    assert await limiter.usage(RPM) == pytest.approx(0.1)  # the request stays counted
    r2 = held(await limiter.reserve([TPM], Amounts(tokens=100)))
    await r2.settle(Amounts(tokens=400))  # used more than estimated: debt is charged
    assert await limiter.usage(TPM) == pytest.approx(0.7)


async def test_release_gives_everything_back(limiter: Limiter) -> None:
    r = held(await limiter.reserve([RPM, TPM, CONC], Amounts(requests=1, tokens=800,
                                                             concurrency=1)))
    await r.release()
    for rule in (RPM, TPM, CONC):
        assert await limiter.usage(rule) == 0.0


async def test_settle_and_release_are_idempotent(limiter: Limiter) -> None:
    r = held(await limiter.reserve([TPM, CONC], Amounts(tokens=500, concurrency=1)))
    await asyncio.gather(r.settle(Amounts(tokens=100)), r.settle(Amounts(tokens=100)),
                         r.release())
    await r.release()
    assert r.done
    assert await limiter.usage(TPM) == pytest.approx(0.1)
    assert await limiter.usage(CONC) == 0.0


async def test_concurrency_slots_and_lease_expiry(limiter: Limiter, clock: FakeClock) -> None:
    one = Amounts(concurrency=1)
    a = held(await limiter.reserve([CONC], one))
    held(await limiter.reserve([CONC], one))  # this holder "crashes": never settles
    denied(await limiter.reserve([CONC], one))
    assert await limiter.usage(CONC) == 1.0
    await a.settle(Amounts())
    b = held(await limiter.reserve([CONC], one))
    clock.advance(29)
    denied(await limiter.reserve([CONC], one))
    clock.advance(2)  # the crashed lease (and b's) expired after lease_seconds
    assert await limiter.usage(CONC) == 0.0
    held(await limiter.reserve([CONC], one))
    await b.release()  # a late release of an expired lease takes nothing extra back
    assert await limiter.usage(CONC) == 0.5


async def test_budget_never_overshoots_under_concurrency(limiter: Limiter) -> None:
    worst = Amounts(micros=7_000)
    results = await asyncio.gather(*(limiter.reserve([BUDGET], worst) for _ in range(100)))
    admitted = [r for r in results if not isinstance(r, Denied)]
    assert len(admitted) == 500_000 // 7_000  # 71, and no more
    refused = [r for r in results if isinstance(r, Denied)]
    assert refused[0].retry_after == pytest.approx(period_end(BudgetPeriod.DAILY, T0) - T0)
    await asyncio.gather(*(r.settle(Amounts(micros=5_000)) for r in admitted))
    assert await limiter.usage(BUDGET) == pytest.approx(71 * 5_000 / 500_000)
    results = await asyncio.gather(*(limiter.reserve([BUDGET], worst) for _ in range(100)))
    assert sum(not isinstance(r, Denied) for r in results) == (500_000 - 355_000) // 7_000


async def test_budget_period_rolls_over(limiter: Limiter, clock: FakeClock) -> None:
    held(await limiter.reserve([BUDGET], Amounts(micros=500_000)))
    d = denied(await limiter.reserve([BUDGET], Amounts()))  # even a free call is refused
    clock.advance(d.retry_after + 1)
    assert await limiter.usage(BUDGET) == 0.0
    held(await limiter.reserve([BUDGET], Amounts(micros=1)))


async def test_correct_lowers_but_never_raises(limiter: Limiter) -> None:
    await limiter.correct(TPM, 200)  # x-ratelimit-remaining-tokens: 200
    assert await limiter.usage(TPM) == pytest.approx(0.8)
    denied(await limiter.reserve([TPM], Amounts(tokens=201)))
    await limiter.correct(TPM, 900)  # higher than our view: ignored
    assert await limiter.usage(TPM) == pytest.approx(0.8)
    await limiter.correct(BUDGET, 100_000)
    assert await limiter.usage(BUDGET) == pytest.approx(0.8)


async def test_sliding_window_never_bursts(limiter: Limiter, clock: FakeClock) -> None:
    rule = LimitRule(LimitKey("vkey:batch", K.REQUESTS_PER_MINUTE), 60,
                     algorithm=Algorithm.SLIDING_WINDOW)
    clock.t = 60 * 29_166_667  # start of a window
    one = Amounts(requests=1)
    admitted: list[float] = []
    for _ in range(3 * 60 * 10):  # 3 minutes, 10 attempts a second
        if not isinstance(await limiter.reserve([rule], one), Denied):
            admitted.append(clock.t)
        clock.advance(0.1)
    assert len(admitted) <= 3 * 60 + 1
    start = admitted[0]
    # In any rolling minute, no more than capacity (a bucket would allow 2x at the start).
    for t in admitted:
        window = [a for a in admitted if t <= a < t + 60]
        assert len(window) <= 60 + 1, (t - start, len(window))
    assert await limiter.usage(rule) > 0.5
    d = denied(await limiter.reserve([rule], Amounts(requests=60)))
    assert d.retry_after > 0


async def test_usage_is_utilisation(limiter: Limiter) -> None:
    assert await limiter.usage(TPM) == 0.0
    held(await limiter.reserve([TPM], Amounts(tokens=250)))
    assert await limiter.usage(TPM) == pytest.approx(0.25)
    held(await limiter.reserve([CONC], Amounts(concurrency=1)))
    assert await limiter.usage(CONC) == pytest.approx(0.5)
