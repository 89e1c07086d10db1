"""Fault spec parsing and the FIFO fault queue with times/model scoping."""

from __future__ import annotations

import pytest

from portico.simulate.faults import (
    Fault,
    FaultQueue,
    FaultRule,
    FaultSpecError,
    parse_fault,
    parse_rules,
)


def test_parse_kv_spec_converts_types() -> None:
    f = parse_fault("status=429;retry_after=2;hang;malformed=false;message=slow down")
    assert f == Fault(status=429, retry_after=2, hang=True, malformed=False, message="slow down")


def test_parse_json_spec_and_bytes() -> None:
    assert parse_fault(b'{"cut_after": 3, "gap_ms": 5}') == Fault(cut_after=3, gap_ms=5)


def test_retry_after_string_kept_verbatim() -> None:
    f = parse_fault("retry_after=Wed, 21 Oct 2015 07:28:00 GMT;status=429")
    assert f.retry_after == "Wed, 21 Oct 2015 07:28:00 GMT" and f.status == 429
    g = parse_fault('{"retry_after": "Wed, 21 Oct 2015 07:28:00 GMT"}')
    assert g.retry_after == "Wed, 21 Oct 2015 07:28:00 GMT"


@pytest.mark.parametrize("spec", ["bogus=1", '{"status": "x"}', "{not json", "latency_ms=abc"])
def test_bad_specs_raise(spec: str) -> None:
    with pytest.raises(FaultSpecError):
        parse_fault(spec)


def test_retry_seconds_prefers_ms_then_seconds_then_date() -> None:
    assert Fault(retry_after_ms=1500, retry_after=9).retry_seconds() == 1.5
    assert Fault(retry_after=3).retry_seconds() == 3.0
    assert Fault(retry_after_date=7).retry_seconds() == 7
    assert Fault().retry_seconds() is None


def test_parse_rules_single_and_list() -> None:
    assert parse_rules(b'{"status": 503, "times": 2}') == [FaultRule(status=503, times=2)]
    rules = parse_rules(b'[{"status": 500, "model": "a"}, {"hang": true, "times": null}]')
    assert rules[0].model == "a" and rules[1].times is None
    with pytest.raises(FaultSpecError):
        parse_rules(b'{"times": 0}')
    with pytest.raises(FaultSpecError):
        parse_rules(b'{"nope": 1}')


def test_queue_times_and_fifo() -> None:
    q = FaultQueue()
    q.push(FaultRule(status=503, times=2), FaultRule(status=500))
    taken = [q.take("m") for _ in range(4)]
    assert [t.status if t else None for t in taken] == [503, 503, 500, None]
    assert len(q) == 0


def test_queue_model_scoping_skips_other_models() -> None:
    q = FaultQueue()
    q.push(FaultRule(status=429, model="gpt-x"), FaultRule(status=500))
    first = q.take("other")
    assert first is not None and first.status == 500
    assert q.take("other") is None
    scoped = q.take("gpt-x")
    assert scoped is not None and scoped.status == 429


def test_queue_unlimited_until_cleared() -> None:
    q = FaultQueue()
    q.push(FaultRule(status=502, times=None))
    assert all(q.take(None) is not None for _ in range(10))
    q.clear()
    assert q.take(None) is None and q.pending() == []
