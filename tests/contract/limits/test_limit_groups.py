"""Several scopes in one atomic reservation (the client's inbound limits with an upstream key's):
one round trip on Redis, nothing taken anywhere when any group is over, settled per group."""

from __future__ import annotations

from collections.abc import Sequence

from portico.limits import (
    Amounts,
    Denied,
    Limiter,
    LimitKey,
    LimitKind,
    LimitRule,
    Reservation,
)

from .conftest import FakeClock

K = LimitKind
IN_RPM = LimitRule(LimitKey("vkey:v1", K.REQUESTS_PER_MINUTE), 5)
IN_TPM = LimitRule(LimitKey("vkey:v1", K.TOKENS_PER_MINUTE), 1000)
IN_CONC = LimitRule(LimitKey("vkey:v1", K.CONCURRENCY), 3, lease_seconds=30)
UP_TPM = LimitRule(LimitKey("upstream:openai:k1", K.TOKENS_PER_MINUTE), 100)
UP_CONC = LimitRule(LimitKey("upstream:openai:k1", K.CONCURRENCY), 1, lease_seconds=30)
INBOUND = ([IN_RPM, IN_TPM, IN_CONC], Amounts(requests=1, tokens=50, concurrency=1))


def upstream(tokens: int) -> tuple[list[LimitRule], Amounts]:
    return [UP_TPM, UP_CONC], Amounts(requests=1, tokens=tokens, concurrency=1)


def pair(r: Sequence[Reservation] | Denied) -> Sequence[Reservation]:
    assert not isinstance(r, Denied), r
    assert len(r) == 2
    return r


async def test_upstream_over_leaves_inbound_untouched(limiter: Limiter) -> None:
    d = await limiter.reserve_groups([INBOUND, upstream(101)])
    assert isinstance(d, Denied) and d.key == UP_TPM.key
    for rule in (IN_RPM, IN_TPM, IN_CONC, UP_TPM, UP_CONC):
        assert await limiter.usage(rule) == 0.0


async def test_inbound_over_leaves_upstream_untouched(limiter: Limiter) -> None:
    big = ([IN_TPM], Amounts(tokens=1001))
    d = await limiter.reserve_groups([big, upstream(10)])
    assert isinstance(d, Denied) and d.key == IN_TPM.key
    assert await limiter.usage(UP_TPM) == 0.0 and await limiter.usage(UP_CONC) == 0.0


async def test_groups_settle_separately(limiter: Limiter, clock: FakeClock) -> None:
    inbound, up = pair(await limiter.reserve_groups([INBOUND, upstream(80)]))
    assert await limiter.usage(UP_CONC) == 1.0 and await limiter.usage(IN_CONC) > 0
    await up.settle(Amounts(requests=1, tokens=30))
    assert await limiter.usage(UP_CONC) == 0.0          # the upstream slot is free again
    assert await limiter.usage(UP_TPM) == 0.3
    assert await limiter.usage(IN_CONC) > 0             # the client's slot is still held
    await inbound.settle(Amounts(requests=1, tokens=30))
    assert await limiter.usage(IN_CONC) == 0.0
    assert await limiter.usage(IN_TPM) == 0.03
    assert await limiter.usage(IN_RPM) == 0.2
    again = pair(await limiter.reserve_groups([INBOUND, upstream(70)]))
    for r in again:
        await r.release()
    assert await limiter.usage(UP_TPM) == 0.3 and await limiter.usage(IN_RPM) == 0.2
