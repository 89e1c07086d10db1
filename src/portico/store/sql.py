"""The SQL store (SQLite or PostgreSQL through SQLAlchemy Core): keys, teams, ledger, spend, audit.

`open_store(url)` is the entry point; `sqlite:///path.db` (default, embedded) or
`postgresql://user@host:port/db`. Only virtual-key hashes ever reach this module, never secrets.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from portico.errors import InvalidRequest
from portico.store import _audit, _codec, _teams
from portico.store._engine import READ_ONLY, SQLITE_BUSY_TIMEOUT_MS, Backend, make_engine
from portico.store._migrate import run_migrations
from portico.store._sqlite_batch import SqliteBatchWriter
from portico.store._tables import build_metadata
from portico.store.base import (
    AuditVerification,
    LedgerQuery,
    SpendGroup,
    SpendLine,
    Store,
)
from portico.store.records import (
    AuditEvent,
    KeyRecord,
    LedgerRow,
    StoredAuditEvent,
    TeamRecord,
    TeamSettings,
)

_DAY_MS = 86_400_000


class SqlStore:
    """`Store` over an async SQLAlchemy engine; one instance per process, safe across tasks."""

    def __init__(self, engine: AsyncEngine, backend: Backend, single_connection: bool) -> None:
        self._engine = engine
        self._backend = backend
        md, self._keys, self._ledger, self._audit = build_metadata()
        self._teams = md.tables["teams"]
        # SQLite allows one writer: queue writers here rather than in the driver's busy loop.
        # With :memory: there is one connection, so reads queue too.
        self._write_lock = asyncio.Lock()
        self._single_connection = single_connection
        # The journal's inserts, compiled once for this engine and run as one executemany of
        # plain tuples: SQLAlchemy's per-row parameter processing (construct_params, a dict per
        # row) was most of a flush cycle's CPU on the event loop (docs/benchmarks.md).
        insert = postgresql.insert if backend is Backend.POSTGRES else sqlite.insert
        self._ledger_insert = _codec.LedgerInsert(
            insert(self._ledger).on_conflict_do_nothing(index_elements=["request_id"]),
            engine.dialect)
        self._audit_insert = _codec.AuditInsert(sa.insert(self._audit).inline(), engine.dialect)
        # A SQLite file takes the journal's flushes on its own thread and connection (an
        # in-memory database exists only on the engine's one connection).
        self._batch: SqliteBatchWriter | None = None
        if backend is Backend.SQLITE and not single_connection and engine.url.database:
            self._batch = SqliteBatchWriter(engine.url.database, self._ledger_insert,
                                            self._audit_insert, self._audit.name,
                                            SQLITE_BUSY_TIMEOUT_MS / 1000)

    @property
    def backend(self) -> Backend:
        return self._backend

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        if self._backend is Backend.SQLITE:
            async with self._write_lock, self._engine.begin() as conn:
                yield conn
        else:
            async with self._engine.begin() as conn:
                yield conn

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        if self._single_connection:
            async with self._write_lock, self._engine.connect() as conn:
                yield conn
        else:
            async with self._engine.connect() as raw:
                yield await raw.execution_options(**{READ_ONLY: True})

    # -- lifecycle ---------------------------------------------------------------------------

    async def migrate(self) -> None:
        async with self._write_lock:
            await run_migrations(self._engine, self._backend)

    async def ping(self) -> bool:
        try:
            async with self._read() as conn:
                await conn.execute(sa.text("SELECT 1"))
        except (sa.exc.SQLAlchemyError, OSError):
            return False
        return True

    async def close(self) -> None:
        if self._batch is not None:
            await self._batch.close()
        await self._engine.dispose()

    # -- keys --------------------------------------------------------------------------------

    async def create_key(self, rec: KeyRecord) -> None:
        try:
            async with self._write() as conn:
                await conn.execute(sa.insert(self._keys), [_codec.key_to_row(rec)])
        except sa.exc.IntegrityError as exc:
            raise InvalidRequest("a key with this id or hash already exists",
                                 code="duplicate_key") from exc

    async def get_key(self, key_id: str) -> KeyRecord | None:
        return await self._one_key(self._keys.c.id == key_id)

    async def get_key_by_hash(self, key_hash: str) -> KeyRecord | None:
        return await self._one_key(self._keys.c.key_hash == key_hash)

    async def _one_key(self, where: sa.ColumnElement[bool]) -> KeyRecord | None:
        async with self._read() as conn:
            row = (await conn.execute(sa.select(self._keys).where(where))).mappings().first()
        return None if row is None else _codec.key_from_row(row)

    async def list_keys(self, team: str | None = None) -> list[KeyRecord]:
        stmt = sa.select(self._keys).order_by(self._keys.c.created_at_ms, self._keys.c.id)
        if team is not None:
            stmt = stmt.where(self._keys.c.team == team)
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [_codec.key_from_row(r) for r in rows]

    async def revoke_key(self, key_id: str, at_ms: int) -> bool:
        """Revoke an active key; False when it does not exist or was already revoked."""
        stmt = (sa.update(self._keys)
                .where(self._keys.c.id == key_id, self._keys.c.revoked_at_ms.is_(None))
                .values(revoked_at_ms=at_ms))
        async with self._write() as conn:
            result = await conn.execute(stmt)
        return result.rowcount == 1

    # -- teams -------------------------------------------------------------------------------

    async def create_team(self, rec: TeamRecord) -> None:
        try:
            async with self._write() as conn:
                await _teams.create(conn, self._teams, rec)
        except sa.exc.IntegrityError as exc:
            raise _teams.duplicate(rec.name) from exc

    async def get_team(self, name: str) -> TeamRecord | None:
        async with self._read() as conn:
            return await _teams.get(conn, self._teams, name)

    async def list_teams(self, include_archived: bool = False) -> list[TeamRecord]:
        async with self._read() as conn:
            return await _teams.list_all(conn, self._teams, include_archived)

    async def update_team_settings(self, name: str,
                                   settings: TeamSettings) -> TeamRecord | None:
        async with self._write() as conn:
            return await _teams.update_settings(conn, self._teams, name, settings)

    async def archive_team(self, name: str, at_ms: int) -> bool:
        async with self._write() as conn:
            return await _teams.archive(conn, self._teams, name, at_ms)

    # -- usage ledger ------------------------------------------------------------------------

    async def write_ledger(self, rows: Sequence[LedgerRow]) -> None:
        if rows:
            async with self._write() as conn:
                await self._insert_ledger(conn, rows)

    async def write_batch(self, rows: Sequence[LedgerRow], events: Sequence[AuditEvent]
                          ) -> None:
        """Ledger rows and audit events in one transaction (the journal's flush): one
        BEGIN/COMMIT and one connection checkout per cycle instead of two."""
        if not rows and not events:
            return
        if self._batch is not None:
            async with self._write_lock:   # in-process writers queue here, as in _write
                await self._batch.write(rows, events)
            return
        async with self._write() as conn:
            if rows:
                await self._insert_ledger(conn, rows)
            if events:
                await _audit.append(conn, self._audit, self._backend, events,
                                    self._audit_insert)

    async def _insert_ledger(self, conn: AsyncConnection, rows: Sequence[LedgerRow]) -> None:
        unique = {r.request_id: r for r in rows}
        await conn.exec_driver_sql(self._ledger_insert.sql,
                                   [self._ledger_insert.values(r) for r in unique.values()])

    def _filtered(self, stmt: sa.Select[tuple[object, ...]] | sa.Select[tuple[LedgerRow]],
                  q: LedgerQuery) -> sa.Select[tuple[object, ...]]:
        c = self._ledger.c
        if q.since_ms is not None:
            stmt = stmt.where(c.ts_ms >= q.since_ms)
        if q.until_ms is not None:
            stmt = stmt.where(c.ts_ms < q.until_ms)
        if q.key_id is not None:
            stmt = stmt.where(c.key_id == q.key_id)
        if q.team is not None:
            stmt = stmt.where(c.team == q.team)
        return stmt

    async def query_ledger(self, q: LedgerQuery) -> list[LedgerRow]:
        """Rows with since_ms <= ts_ms < until_ms, oldest first."""
        c = self._ledger.c
        stmt = self._filtered(sa.select(self._ledger), q)
        stmt = stmt.order_by(c.ts_ms, c.request_id).limit(q.limit)
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [_codec.ledger_from_row(r) for r in rows]

    async def spend(self, group: SpendGroup, q: LedgerQuery) -> list[SpendLine]:
        """Totals per group, ordered by group; a NULL key/team/provider groups under ""."""
        key = self._group_expr(group).label("g")
        c = self._ledger.c
        total = sa.func.coalesce

        def flag_sum(cond: sa.ColumnElement[bool]) -> sa.ColumnElement[object]:
            return total(sa.func.sum(sa.case((cond, 1), else_=0)), 0)

        stmt = self._filtered(sa.select(
            key,
            sa.func.count().label("requests"),
            flag_sum(c.status == "ok").label("ok_requests"),
            total(sa.func.sum(c.tokens_in), 0).label("tokens_in"),
            total(sa.func.sum(c.tokens_out), 0).label("tokens_out"),
            total(sa.func.sum(c.tokens_cached), 0).label("tokens_cached"),
            total(sa.func.sum(c.cost_micros), 0).label("cost_micros"),
            flag_sum(c.price_missing.is_(True)).label("price_missing"),
        ), q).group_by(key).order_by(key).limit(q.limit)
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [
            SpendLine(
                group=self._group_label(group, r["g"]),
                requests=int(r["requests"]), ok_requests=int(r["ok_requests"]),
                tokens_in=int(r["tokens_in"]), tokens_out=int(r["tokens_out"]),
                tokens_cached=int(r["tokens_cached"]), cost_micros=int(r["cost_micros"]),
                price_missing=int(r["price_missing"]),
            )
            for r in rows
        ]

    def _group_expr(self, group: SpendGroup) -> sa.ColumnElement[object]:
        c = self._ledger.c
        if group == "key":
            return sa.func.coalesce(c.key_id, "")
        if group == "team":
            return sa.func.coalesce(c.team, "")
        if group == "model":
            return c.model_requested
        if group == "provider":
            return sa.func.coalesce(c.provider, "")
        if group == "day":
            # SQLAlchemy's `//` renders integer division on both engines (`/` would be true
            # division on PostgreSQL, and casting that back rounds instead of flooring).
            return c.ts_ms // _DAY_MS
        raise AssertionError(group)

    @staticmethod
    def _group_label(group: SpendGroup, value: object) -> str:
        if group == "day":
            day = dt.date(1970, 1, 1) + dt.timedelta(days=int(str(value)))
            return day.isoformat()
        return str(value)

    # -- audit -------------------------------------------------------------------------------

    async def append_audit(self, events: Sequence[AuditEvent]) -> None:
        if not events:
            return
        async with self._write() as conn:
            await _audit.append(conn, self._audit, self._backend, events, self._audit_insert)

    async def list_audit(self, since_ms: int | None = None, actor: str | None = None,
                         limit: int = 1000) -> list[StoredAuditEvent]:
        stmt = sa.select(self._audit).order_by(self._audit.c.seq).limit(limit)
        if since_ms is not None:
            stmt = stmt.where(self._audit.c.ts_ms >= since_ms)
        if actor is not None:
            stmt = stmt.where(self._audit.c.actor == actor)
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [_codec.audit_from_row(r) for r in rows]

    async def latest_audit(self, actor: str, actions: Sequence[str]
                           ) -> StoredAuditEvent | None:
        """The newest event by `actor` whose action is one of `actions` (the actor index
        keeps this cheap when the actor is rare, e.g. config changes by "operator")."""
        c = self._audit.c
        stmt = (sa.select(self._audit).where(c.actor == actor, c.action.in_(list(actions)))
                .order_by(c.seq.desc()).limit(1))
        async with self._read() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return None if row is None else _codec.audit_from_row(row)

    async def verify_audit(self) -> AuditVerification:
        async with self._read() as conn:
            return await _audit.verify(conn, self._audit)


async def open_store(url: str, *, pool_size: int = 10) -> Store:
    """Open (not migrate) the store at `url`; call `await store.migrate()` at startup."""
    engine, backend, single = make_engine(url, pool_size=pool_size)
    return SqlStore(engine, backend, single)
