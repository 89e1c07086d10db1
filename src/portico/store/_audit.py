"""The audit hash chain: append under a cross-process lock, and re-verify from the first row.

hash = sha256(prev_hash + canonical JSON of the event); the first prev_hash is 64 zeros.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from portico.store import _codec
from portico.store._engine import Backend
from portico.store.base import AuditVerification
from portico.store.records import AuditEvent

# Shared by every Portico process on a database: "appending to the audit chain".
APPEND_LOCK_ID = 0x504F5254_41554454 & 0x7FFF_FFFF_FFFF_FFFF
_VERIFY_PAGE = 1000


async def append(conn: AsyncConnection, table: sa.Table, backend: Backend,
                 events: Sequence[AuditEvent], insert: _codec.AuditInsert) -> None:
    """Append inside the caller's write transaction (SQLite: already BEGIN IMMEDIATE)."""
    if backend is Backend.POSTGRES:
        # Held until commit: the tail read and the inserts below form one critical section.
        await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": APPEND_LOCK_ID})
    c = table.c
    wanted = unique(events)
    present = set((await conn.execute(sa.select(c.event_id).where(
        c.event_id.in_([e.event_id for e in wanted])))).scalars().all())
    fresh = [e for e in wanted if e.event_id not in present]
    if not fresh:
        return
    tail = (await conn.execute(
        sa.select(c.hash).order_by(c.seq.desc()).limit(1))).scalar_one_or_none()
    # One executemany of plain tuples: the drivers run the rows one after another in list
    # order, so seq follows the chain; one round trip instead of one per event (the per-row
    # form was the journal's bottleneck: ~500 events/s under load, docs/benchmarks.md).
    await conn.exec_driver_sql(insert.sql, chained(fresh, tail, insert))


def unique(events: Sequence[AuditEvent]) -> list[AuditEvent]:
    """The last event per event id, in first-seen order."""
    return list({e.event_id: e for e in events}.values())


def chained(fresh: Sequence[AuditEvent], tail: str | None,
            insert: _codec.AuditInsert) -> list[tuple[object, ...]]:
    """Insert parameters for `fresh`, each hashed onto the one before (the first onto the
    table's last hash, or the genesis hash)."""
    prev = tail if tail is not None else _codec.GENESIS_HASH
    rows: list[tuple[object, ...]] = []
    for event in fresh:
        row, prev = insert.values(event, prev)
        rows.append(row)
    return rows


async def verify(conn: AsyncConnection, table: sa.Table) -> AuditVerification:
    c = table.c
    prev = _codec.GENESIS_HASH
    count = 0
    last_seq: int | None = None
    while True:
        stmt = sa.select(table).order_by(c.seq).limit(_VERIFY_PAGE)
        if last_seq is not None:
            stmt = stmt.where(c.seq > last_seq)
        rows = (await conn.execute(stmt)).mappings().all()
        if not rows:
            return AuditVerification(ok=True, count=count)
        for row in rows:
            stored = _codec.audit_from_row(row)
            count += 1
            expected = _codec.chain_hash(prev, stored.event)
            if stored.prev_hash != prev or stored.hash != expected:
                return AuditVerification(ok=False, count=count, first_bad_seq=stored.seq)
            prev = stored.hash
            last_seq = stored.seq
