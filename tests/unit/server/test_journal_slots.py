"""Each worker process gets its own journal slot; a freed slot is reused and replayed."""

from __future__ import annotations

from pathlib import Path

from portico.server.gateway import open_journal
from portico.store import open_store
from portico.store.base import LedgerQuery
from portico.store.records import LedgerRow


async def test_second_journal_takes_the_next_slot_and_reuses_freed_ones(tmp_path: Path) -> None:
    store = await open_store(f"sqlite:///{tmp_path}/db.sqlite")
    await store.migrate()
    try:
        first = await open_journal(store, tmp_path / "j", 50)
        second = await open_journal(store, tmp_path / "j", 50)
        assert sorted(p.name for p in (tmp_path / "j").iterdir()) == ["slot-0", "slot-1"]
        first.submit_ledger(LedgerRow(request_id="r1", ts_ms=1, key_id=None, team=None,
                                      model_requested="m"))
        await first.close()
        third = await open_journal(store, tmp_path / "j", 50)  # takes slot-0 again
        await second.close()
        await third.close()
        rows = await store.query_ledger(LedgerQuery())
        assert [r.request_id for r in rows] == ["r1"]
    finally:
        await store.close()
