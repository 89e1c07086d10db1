"""Over-prompting: input share per key and model over a bucketed window."""

from __future__ import annotations

from portico.accounting.overprompt import InputShareWindow, input_shares
from portico.clock import ManualClock
from portico.pipeline.hooks import Outcome
from portico.pipeline.overprompt import OverPromptHook
from portico.store.records import LedgerRow

from ._capacity_support import ctx, key, usage


def test_flag_needs_every_bucket_above_the_threshold() -> None:
    w = InputShareWindow(window_seconds=100, buckets=10, min_requests=3)
    for t in (1, 11, 21):
        w.add("key", "steady", t, 900, 100)        # 90% in every bucket
        w.add("key", "spiky", t, 900 if t < 20 else 10, 100)
    report = {s.name: s for s in w.report(25)}
    assert report["steady"].over_prompting
    assert not report["spiky"].over_prompting
    assert report["steady"].input_share == 0.9
    assert w.report(500) == []                      # the window moved past them


def test_from_ledger_rows() -> None:
    rows = [LedgerRow(request_id=f"r{i}", ts_ms=1000 * i, key_id="vk_1", team=None,
                      model_requested="m", tokens_in=95, tokens_out=5) for i in range(12)]
    rows.append(LedgerRow(request_id="e", ts_ms=0, key_id="vk_2", team=None,
                          model_requested="m", status="error", tokens_in=1000))
    shares = input_shares(rows, 20, window_seconds=60, buckets=6)
    flagged = {(s.dimension, s.name) for s in shares if s.over_prompting}
    assert flagged == {("key", "vk_1"), ("model", "m")}


async def test_hook_counts_successful_requests() -> None:
    clock = ManualClock()
    hook = OverPromptHook(clock, InputShareWindow(min_requests=2))
    for i in range(3):
        c = ctx(f"r{i}", key())
        c.usage = usage(90, 10)
        await hook.finalize(c, Outcome())
    failed = ctx("x", key(key_id="vk_2"))
    failed.status = "error"
    await hook.finalize(failed, Outcome())
    names = {(s.dimension, s.name): s.over_prompting for s in hook.report()}
    assert names == {("key", "vk_1"): True, ("model", "m"): True}


async def test_embeddings_are_all_input_and_not_counted() -> None:
    hook = OverPromptHook(ManualClock(), InputShareWindow(min_requests=1))
    c = ctx("e", key())
    c.endpoint, c.usage = "embeddings", usage(500, 0)
    await hook.finalize(c, Outcome())
    assert hook.report() == []
