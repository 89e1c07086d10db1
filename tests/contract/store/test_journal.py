"""The journal over the real stores: flush, outages, replay after a crash, drain, SIGKILL."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import cast

import sqlalchemy as sa

from portico.store.base import LedgerQuery
from portico.store.journal import Journal
from portico.store.records import AuditEvent, LedgerRow
from portico.store.sql import SqlStore, open_store

from .conftest import PG_SERVER, pg_admin

REPO = Path(__file__).resolve().parents[3]
FreshUrl = Callable[[], Awaitable[str]]


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


class Switchable:
    """Passes writes to the real store unless switched off (an outage the store cannot see)."""

    def __init__(self, inner: SqlStore) -> None:
        self.inner = inner
        self.down = False

    async def write_ledger(self, rows: Sequence[LedgerRow]) -> None:
        if self.down:
            raise ConnectionRefusedError("simulated outage")
        await self.inner.write_ledger(rows)

    async def append_audit(self, events: Sequence[AuditEvent]) -> None:
        if self.down:
            raise ConnectionRefusedError("simulated outage")
        await self.inner.append_audit(events)


def row(i: int) -> LedgerRow:
    return LedgerRow(request_id=f"r{i:05d}", ts_ms=i, key_id="vk", team=None,
                     model_requested="m", cost_micros=i)


def event(i: int) -> AuditEvent:
    return AuditEvent(event_id=f"e{i:05d}", ts_ms=i, kind="request", actor="vk",
                      action="chat.completions", detail={"i": i})


async def ledger_ids(store: SqlStore) -> list[str]:
    return [r.request_id for r in await store.query_ledger(LedgerQuery(limit=10**7))]


async def audit_ids(store: SqlStore) -> list[str]:
    return [s.event.event_id for s in await store.list_audit(limit=10**7)]


async def test_flush_and_close_drain(store: SqlStore, tmp_path: Path) -> None:
    ft = FakeTime()
    j = Journal(store, tmp_path / "j", clock=ft.clock, sleep=ft.sleep, batch_size=50)
    await j.start(background=False)
    for i in range(30):
        j.submit_ledger(row(i))
        j.submit_audit(event(i))
    await j.flush()
    assert len(await ledger_ids(store)) + len(await audit_ids(store)) == 50  # one batch
    for i in range(30, 130):
        j.submit_ledger(row(i))
    await j.close()  # drains everything, batch by batch
    assert await ledger_ids(store) == [f"r{i:05d}" for i in range(130)]
    assert await audit_ids(store) == [f"e{i:05d}" for i in range(30)]
    assert (await store.verify_audit()).ok
    assert j.stats.pending == 0 and j.stats.flushed == 160


async def test_simulated_outage_then_recovery(store: SqlStore, tmp_path: Path) -> None:
    ft = FakeTime()
    sink = Switchable(store)
    j = Journal(sink, tmp_path / "j", clock=ft.clock, sleep=ft.sleep, max_memory=20)
    await j.start(background=False)
    sink.down = True
    for i in range(50):
        j.submit_ledger(row(i))
        j.submit_audit(event(i))
        if i % 10 == 9:
            ft.now += 60
            await j.flush()
    assert j.stats.failures >= 5 and j.stats.pending == 100 and j.stats.file_only == 80
    assert await ledger_ids(store) == []
    sink.down = False
    ft.now += 60
    while await j.flush():
        pass
    assert await ledger_ids(store) == [f"r{i:05d}" for i in range(50)]
    assert await audit_ids(store) == [f"e{i:05d}" for i in range(50)]
    assert (await store.verify_audit()).ok
    await j.close()


async def test_real_outage_then_recovery(backend: str, tmp_path: Path,
                                         pg_session_db: str) -> None:
    """The database itself is unreachable: a missing SQLite directory, a missing PG database."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path}/later/store.db"
    else:
        name = f"{pg_session_db}_outage"
        url = f"{PG_SERVER}/{name}"
    store = cast(SqlStore, await open_store(url))
    ft = FakeTime()
    j = Journal(store, tmp_path / "j", clock=ft.clock, sleep=ft.sleep)
    try:
        await j.start(background=False)
        for i in range(20):
            j.submit_ledger(row(i))
            j.submit_audit(event(i))
        await j.flush()
        ft.now += 60
        await j.flush()
        assert j.stats.failures == 2 and j.stats.pending == 40 and j.stats.written == 40
        assert not await store.ping()
        if backend == "sqlite":
            (tmp_path / "later").mkdir()
        else:
            await pg_admin(f'CREATE DATABASE "{name}"')
        await store.migrate()
        ft.now += 60
        await j.close()
        assert await ledger_ids(store) == [f"r{i:05d}" for i in range(20)]
        assert await audit_ids(store) == [f"e{i:05d}" for i in range(20)]
    finally:
        await store.close()


async def test_replay_after_crash_lands_once(store: SqlStore, tmp_path: Path) -> None:
    ft = FakeTime()
    sink = Switchable(store)
    sink.down = True
    crashed = Journal(sink, tmp_path / "j", clock=ft.clock, sleep=ft.sleep)
    await crashed.start(background=False)
    for i in range(40):
        crashed.submit_ledger(row(i))
        crashed.submit_audit(event(i))
    await crashed.flush()  # in the file, not in the database
    # Half of it reaches the database but the process dies before the checkpoint.
    await store.write_ledger([row(i) for i in range(20)])
    await store.append_audit([event(i) for i in range(20)])
    await asyncio.to_thread(crashed._log.close)  # what process death does to the lock

    restarted = Journal(store, tmp_path / "j", clock=ft.clock, sleep=ft.sleep)
    await restarted.start(background=False)  # replays before returning
    assert await ledger_ids(store) == [f"r{i:05d}" for i in range(40)]
    assert await audit_ids(store) == [f"e{i:05d}" for i in range(40)]
    assert (await store.verify_audit()).ok
    await restarted.close()


async def test_sigkill_mid_load_loses_only_the_last_interval(
        fresh_url: FreshUrl, tmp_path: Path) -> None:
    url = await fresh_url()
    store = cast(SqlStore, await open_store(url))
    await store.migrate()
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.contract.store._journal_loader", url, str(tmp_path / "j")],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    durable = 0
    try:
        assert child.stdout is not None
        while durable < 3000:
            line = await asyncio.to_thread(child.stdout.readline)
            assert line, child.stderr.read().decode()[-2000:] if child.stderr else "no output"
            durable = int(line.split()[1])
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    ledger_before_replay = len(await ledger_ids(store))

    ft = FakeTime()
    j = Journal(store, tmp_path / "j", clock=ft.clock, sleep=ft.sleep)
    await j.start(background=False)
    await j.close()
    rows = await ledger_ids(store)
    events = await audit_ids(store)
    # Entries alternate ledger/audit, so `durable` fsynced entries cover durable // 2 of each.
    assert len(rows) >= durable // 2 and len(events) >= durable // 2
    assert rows == [f"r{i:07d}" for i in range(len(rows))]  # a gap-free prefix, each once
    assert events == [f"e{i:07d}" for i in range(len(events))]
    assert len(rows) >= ledger_before_replay
    async with store.engine.connect() as conn:
        assert (await conn.execute(sa.text("SELECT count(*) FROM usage_ledger"))).scalar_one() \
            == len(set(rows))
    assert (await store.verify_audit()).ok
    await store.close()
