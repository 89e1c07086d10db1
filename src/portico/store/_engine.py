"""Turn a store URL into a tuned async engine: SQLite (WAL, busy_timeout) or PostgreSQL (asyncpg).

SQLite write transactions open with BEGIN IMMEDIATE so writers queue on the database lock instead
of failing a read-to-write lock upgrade; reads stay deferred.
"""

from __future__ import annotations

import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from portico.errors import InvalidRequest

SQLITE_BUSY_TIMEOUT_MS = 10_000
# Connection option marking a read-only unit of work (SQLite: plain deferred BEGIN).
READ_ONLY = "portico_read_only"


class Backend(enum.Enum):
    SQLITE = "sqlite"
    POSTGRES = "postgresql"


def _sqlite_engine(url: sa.URL) -> tuple[AsyncEngine, bool]:
    database = url.database or ":memory:"
    memory = database == ":memory:"
    async_url = url.set(drivername="sqlite+aiosqlite")
    if memory:
        # One shared connection, or every pool checkout would see its own empty database.
        engine = create_async_engine(async_url, poolclass=StaticPool)
    else:
        engine = create_async_engine(async_url, pool_size=4, max_overflow=4, pool_timeout=30)

    @sa.event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: object) -> None:
        # Take transaction control away from the driver so BEGIN is ours to emit.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        # busy_timeout first: switching to WAL needs a lock another process may hold.
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        if not memory:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @sa.event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine, memory


def _postgres_engine(url: sa.URL, pool_size: int) -> AsyncEngine:
    async_url = url.set(drivername="postgresql+asyncpg")
    return create_async_engine(
        async_url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=30,
        pool_recycle=1800,
        pool_pre_ping=True,
    )


def make_engine(url: str, *, pool_size: int = 10) -> tuple[AsyncEngine, Backend, bool]:
    """Return (engine, backend, single_connection); single_connection for SQLite :memory:."""
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError as exc:
        raise InvalidRequest(f"invalid store URL scheme: {url.split(':', 1)[0]!r}") from exc
    scheme = parsed.get_backend_name()
    if scheme == "sqlite":
        engine, memory = _sqlite_engine(parsed)
        return engine, Backend.SQLITE, memory
    if scheme in {"postgresql", "postgres"}:
        return _postgres_engine(parsed, pool_size), Backend.POSTGRES, False
    raise InvalidRequest(f"unsupported store URL scheme: {scheme!r}")
