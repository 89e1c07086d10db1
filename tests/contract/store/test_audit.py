"""Audit log: ordered append, hash chain, verification, tamper detection, concurrent writers."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import sys
from pathlib import Path

import msgspec
import sqlalchemy as sa

from portico.store.records import AuditEvent
from portico.store.sql import SqlStore

REPO = Path(__file__).resolve().parents[3]


def ev(i: int, actor: str = "vk_1", **kw: object) -> AuditEvent:
    fields: dict[str, object] = {"event_id": f"ev_{i}", "ts_ms": 1_000 + i, "kind": "request",
                                 "actor": actor, "action": "chat.completions"}
    return AuditEvent(**{**fields, **kw})  # type: ignore[arg-type]


async def test_append_chains_hashes(store: SqlStore) -> None:
    events = [ev(0, target="gpt-4o", detail={"tokens": 12, "pii": {"EMAIL": 2}, "r": 0.25}),
              ev(1, actor="master", kind="admin"), ev(2)]
    await store.append_audit(events)
    stored = await store.list_audit()
    assert [s.event for s in stored] == events
    assert [s.seq for s in stored] == sorted({s.seq for s in stored})
    prev = "0" * 64
    for s in stored:
        assert s.prev_hash == prev
        canonical = msgspec.json.encode(s.event, order="sorted")
        assert s.hash == hashlib.sha256(prev.encode() + canonical).hexdigest()
        prev = s.hash


async def test_event_id_already_present_is_skipped(store: SqlStore) -> None:
    await store.append_audit([ev(0), ev(1)])
    await store.append_audit([ev(1), ev(2), ev(2), ev(0, actor="someone-else")])
    stored = await store.list_audit()
    assert [s.event.event_id for s in stored] == ["ev_0", "ev_1", "ev_2"]
    assert stored[0].event.actor == "vk_1"
    assert (await store.verify_audit()).ok


async def test_list_filters(store: SqlStore) -> None:
    await store.append_audit([ev(i, actor="a" if i % 2 else "b") for i in range(10)])
    assert [s.event.event_id for s in await store.list_audit(since_ms=1_007)] == [
        "ev_7", "ev_8", "ev_9"]
    assert [s.event.event_id for s in await store.list_audit(actor="a", limit=2)] == [
        "ev_1", "ev_3"]


async def test_verify_empty_and_intact(store: SqlStore) -> None:
    v = await store.verify_audit()
    assert (v.ok, v.count, v.first_bad_seq) == (True, 0, None)
    await store.append_audit([ev(i) for i in range(2500)])  # spans verification pages
    v = await store.verify_audit()
    assert (v.ok, v.count, v.first_bad_seq) == (True, 2500, None)


async def tamper(store: SqlStore, sql: str) -> None:
    async with store.engine.begin() as conn:
        await conn.execute(sa.text(sql))


async def seq_of(store: SqlStore, event_id: str) -> int:
    return next(s.seq for s in await store.list_audit() if s.event.event_id == event_id)


async def test_tampered_detail_is_detected(store: SqlStore) -> None:
    await store.append_audit([ev(i, detail={"tokens": i}) for i in range(5)])
    bad = await seq_of(store, "ev_2")
    await tamper(store, "UPDATE audit_events SET detail = '{\"tokens\": 0}' "
                        "WHERE event_id = 'ev_2'")
    v = await store.verify_audit()
    assert (v.ok, v.first_bad_seq) == (False, bad)


async def test_tampered_actor_rehashed_is_detected_downstream(store: SqlStore) -> None:
    await store.append_audit([ev(i) for i in range(5)])
    row = (await store.list_audit())[1]
    forged = AuditEvent(**{**msgspec.structs.asdict(row.event), "actor": "nobody"})
    forged_hash = hashlib.sha256(
        row.prev_hash.encode() + msgspec.json.encode(forged, order="sorted")).hexdigest()
    await tamper(store, f"UPDATE audit_events SET actor = 'nobody', hash = '{forged_hash}' "
                        f"WHERE seq = {row.seq}")
    v = await store.verify_audit()
    assert (v.ok, v.first_bad_seq) == (False, await seq_of(store, "ev_2"))


async def test_deleted_row_is_detected(store: SqlStore) -> None:
    await store.append_audit([ev(i) for i in range(5)])
    await tamper(store, "DELETE FROM audit_events WHERE event_id = 'ev_1'")
    v = await store.verify_audit()
    assert (v.ok, v.first_bad_seq) == (False, await seq_of(store, "ev_2"))


async def test_concurrent_tasks_build_one_chain(store: SqlStore) -> None:
    async def writer(w: int) -> None:
        for i in range(0, 10, 2):
            await store.append_audit([ev(w * 100 + i, actor=f"w{w}"),
                                      ev(w * 100 + i + 1, actor=f"w{w}")])

    await asyncio.gather(*(writer(w) for w in range(12)))
    v = await store.verify_audit()
    assert (v.ok, v.count) == (True, 120)
    for w in range(12):  # each writer's own order is kept
        mine = [s.event.event_id for s in await store.list_audit(actor=f"w{w}")]
        assert mine == [f"ev_{w * 100 + i}" for i in range(10)]


async def test_two_processes_build_one_chain(store: SqlStore, store_url: str) -> None:
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.contract.store._audit_writer", store_url, f"p{n}", "60",
            cwd=REPO, stderr=subprocess.PIPE)
        for n in range(2)
    ]
    for p in procs:
        _out, err = await p.communicate()
        assert p.returncode == 0, err.decode()[-2000:]
    v = await store.verify_audit()
    assert (v.ok, v.count) == (True, 120)
    stored = await store.list_audit()
    assert {s.event.actor for s in stored} == {"p0", "p1"}
