"""The journal's SQLite write path: a whole flush (ledger rows, audit chain, commit) in one call
on a dedicated thread with a plain sqlite3 connection.

Through the async engine a flush took ~20 thread round trips (checkout, BEGIN, each statement,
cursor fetch and close, COMMIT, reset) plus the audit hashing, all driven from the event loop;
here the loop only awaits one future. Rows go in multi-row INSERTs, not executemany: sqlite3
releases the GIL around every step, and with a busy event loop each re-acquire waits up to a
switch interval (a GIL convoy: one row per interval); one statement per few hundred rows
releases it a few times per flush. Statement sizes are powers of two up to 64 rows, so the
connection caches at most seven prepared shapes per table (a cache keyed by every batch size
held hundreds of large statements). SQLite inserts a VALUES list in order, so seq still follows
the audit chain.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from portico.store import _audit, _codec
from portico.store.records import AuditEvent, LedgerRow

# Audit ids per `IN (...)` lookup (under SQLite's historical 999-variable limit); lists are
# padded to a power of two so the lookup, too, has few prepared shapes.
_IDS_PER_QUERY = 512
_ROWS_PER_STATEMENT = 64    # a power of two: chunks are 64, 32, ..., 1 rows


class SqliteBatchWriter:
    def __init__(self, path: str, ledger: _codec.LedgerInsert, audit: _codec.AuditInsert,
                 audit_table: str, busy_timeout_s: float) -> None:
        self._path = path
        # The table name comes from our own metadata, never from a request.
        self._present_sql = f"SELECT event_id FROM {audit_table} WHERE event_id IN "  # noqa: S608
        self._tail_sql = f"SELECT hash FROM {audit_table} ORDER BY seq DESC LIMIT 1"  # noqa: S608
        self._ledger = ledger
        self._audit = audit
        self._timeout = busy_timeout_s
        self._conn: sqlite3.Connection | None = None
        self._max_vars = 999
        self._multi: dict[tuple[str, int], str] = {}
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="portico-sqlite")

    async def write(self, rows: Sequence[LedgerRow], events: Sequence[AuditEvent]) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self._write, rows, events)

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self._close)
        self._thread.shutdown(wait=True)

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            # isolation_level=None: we emit BEGIN IMMEDIATE ourselves, as the async engine does,
            # so writers queue on the database lock instead of failing a lock upgrade.
            conn = sqlite3.connect(self._path, timeout=self._timeout, isolation_level=None)
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._max_vars = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
            self._conn = conn
        return self._conn

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _write(self, rows: Sequence[LedgerRow], events: Sequence[AuditEvent]) -> None:
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            if rows:
                unique = {r.request_id: r for r in rows}
                self._insert(conn, self._ledger.sql,
                             [self._ledger.values(r) for r in unique.values()])
            if events:
                self._append_audit(conn, events)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _append_audit(self, conn: sqlite3.Connection, events: Sequence[AuditEvent]) -> None:
        """`_audit.append` for this connection: skip ids already stored, chain onto the tail."""
        wanted = _audit.unique(events)
        present: set[str] = set()
        for start in range(0, len(wanted), _IDS_PER_QUERY):
            ids = [e.event_id for e in wanted[start:start + _IDS_PER_QUERY]]
            size = 1 << (len(ids) - 1).bit_length()
            ids += ids[-1:] * (size - len(ids))   # a repeated id changes nothing in IN
            marks = ",".join("?" * size)
            present.update(r[0] for r in conn.execute(f"{self._present_sql}({marks})", ids))
        fresh = [e for e in wanted if e.event_id not in present]
        if not fresh:
            return
        tail = conn.execute(self._tail_sql).fetchone()
        self._insert(conn, self._audit.sql,
                     _audit.chained(fresh, tail[0] if tail else None, self._audit))

    def _insert(self, conn: sqlite3.Connection, sql: str, rows: list[tuple[object, ...]]
                ) -> None:
        """`sql` (one `VALUES (?, ...)` group) for every row, in statements of 64, 32, ... rows."""
        if not rows:
            return
        width = len(rows[0])
        per = _ROWS_PER_STATEMENT
        while per > 1 and per * width > self._max_vars:
            per //= 2
        start = 0
        while start < len(rows):
            while per > len(rows) - start:
                per //= 2
            chunk = rows[start:start + per]
            conn.execute(self._multi_sql(sql, width, per),
                         [value for row in chunk for value in row])
            start += per

    def _multi_sql(self, sql: str, width: int, count: int) -> str:
        key = (sql, count)
        multi = self._multi.get(key)
        if multi is None:
            group = "(" + ", ".join("?" * width) + ")"
            if group not in sql:
                raise RuntimeError(f"no VALUES group of {width} in {sql!r}")
            multi = self._multi[key] = sql.replace(group, ", ".join([group] * count), 1)
        return multi
