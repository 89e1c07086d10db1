"""`SqlStore.write_batch` (the journal's flush): ledger rows and audit events in one transaction,
on a SQLite file through its own thread and connection, in memory through the engine. Either
way the audit chain continues across the async path, replays add nothing, and values round-trip.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from portico.store.base import LedgerQuery
from portico.store.records import AttemptRow, AuditEvent, LedgerRow
from portico.store.sql import SqlStore, open_store


def ev(i: int) -> AuditEvent:
    return AuditEvent(event_id=f"ev_{i}", ts_ms=1_000 + i, kind="request", actor="vk_1",
                      action="chat.request", target="m",
                      detail={"tokens_in": i, "team": None, "pii": {"EMAIL": 1}})


def row(i: int) -> LedgerRow:
    return LedgerRow(request_id=f"r{i}", ts_ms=1_000 + i, key_id="vk_1", team=None,
                     model_requested="m", provider="openai", deployment="openai/m@k1",
                     upstream_model="m", attempts=[AttemptRow(deployment="openai/m@k1",
                                                              status=200, latency_ms=3)],
                     tokens_in=i, tokens_out=2, cost_micros=7, cost_estimated=True,
                     ttft_ms=None if i % 2 else 5, stream=bool(i % 2))


@pytest.fixture(params=["file", "memory"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> SqlStore:
    url = f"sqlite:///{tmp_path}/s.db" if request.param == "file" else "sqlite:///:memory:"
    s = await open_store(url)
    await s.migrate()
    assert isinstance(s, SqlStore)
    return s


async def test_batches_chain_with_async_appends_and_replays_add_nothing(
        store: SqlStore) -> None:
    try:
        await store.write_batch([row(0), row(1)], [ev(0), ev(1)])
        await store.append_audit([ev(2)])                  # e.g. an admin event, async path
        await store.write_batch([row(2)], [ev(3), ev(3), ev(4)])
        await store.write_batch([row(0), row(1), row(2)], [ev(0), ev(1), ev(3)])  # a replay
        await store.write_batch([], [])
        check = await store.verify_audit()
        assert check.ok and check.count == 5
        assert [s.event.event_id for s in await store.list_audit()] == [
            f"ev_{i}" for i in range(5)]
        assert [s.event for s in await store.list_audit()][1] == ev(1)
        rows = await store.query_ledger(LedgerQuery())
        assert rows == [row(0), row(1), row(2)]
    finally:
        await store.close()


async def test_many_events_span_id_lookups(store: SqlStore) -> None:
    try:
        events = [ev(i) for i in range(2000)]
        await store.write_batch([], events[:1500])
        await store.write_batch([], events)                # 1500 already there
        check = await store.verify_audit()
        assert check.ok and check.count == 2000
    finally:
        await store.close()
