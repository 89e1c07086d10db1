"""The per-key max_tokens cap: cap or reject, and a bound even when the client sent none."""

from __future__ import annotations

import pytest

from portico.errors import InvalidRequest
from portico.pipeline.max_tokens import MaxTokensHook, capped_output
from portico.store.records import KeySettings

from ._capacity_support import ctx, key, request


def hook(default: int | None = 4096) -> MaxTokensHook:
    return MaxTokensHook(lambda model: default)


async def test_over_cap_is_capped_by_default() -> None:
    k = key(KeySettings(max_tokens_cap=100))
    out = await hook().before(ctx("a", k), request(max_tokens=500))
    assert out.max_tokens == 100
    out = await hook().before(ctx("a", k), request(max_completion_tokens=500))
    assert out.output_cap == 100


async def test_over_cap_rejected_when_configured() -> None:
    k = key(KeySettings(max_tokens_cap=100, max_tokens_over_cap="reject"))
    with pytest.raises(InvalidRequest) as err:
        await hook().before(ctx("a", k), request(max_tokens=101))
    assert err.value.code == "max_tokens_over_cap" and err.value.param == "max_tokens"
    same = request(max_tokens=100)
    assert await hook().before(ctx("a", k), same) is same


async def test_missing_max_tokens_gets_the_cap_when_the_default_is_larger() -> None:
    k = key(KeySettings(max_tokens_cap=256))
    assert (await hook(4096).before(ctx("a", k), request())).max_tokens == 256
    assert (await hook(128).before(ctx("a", k), request())).max_tokens is None
    assert (await hook(None).before(ctx("a", k), request())).max_tokens == 256


async def test_no_cap_leaves_the_request_alone() -> None:
    r = request()
    assert await hook().before(ctx("a", key()), r) is r
    assert await hook().before(ctx("a", None), r) is r


def test_capped_output() -> None:
    assert capped_output(key(KeySettings(max_tokens_cap=50)), None, 4096) == 50
    assert capped_output(key(), 70, 4096) == 70
    assert capped_output(None, None, 4096) == 4096
