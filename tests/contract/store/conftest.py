"""Store fixtures: every test runs on a SQLite file and on a PostgreSQL database of this session.

PostgreSQL unreachable means an error, never a skip.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import cast

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from portico.store.sql import SqlStore, open_store

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
BACKENDS = ("sqlite", "postgresql")


async def pg_admin(*statements: str) -> list[str]:
    """Run statements on the `postgres` database outside a transaction; return the last's rows."""
    engine = create_async_engine(f"{PG_SERVER.replace('postgresql', 'postgresql+asyncpg')}"
                                 "/postgres", isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            rows: list[str] = []
            for stmt in statements:
                result = await conn.execute(sa.text(stmt))
                rows = [str(r[0]) for r in result] if result.returns_rows else []
            return rows
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def pg_session_db() -> Iterator[str]:
    name = f"portico_test_{os.getpid()}_{secrets.token_hex(4)}"
    try:
        asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, sa.exc.SQLAlchemyError) as exc:
        pytest.fail(f"local PostgreSQL at {PG_SERVER} is required: {exc}")
    yield name

    async def drop_all() -> None:
        names = await pg_admin(
            f"SELECT datname FROM pg_database WHERE datname LIKE '{name}%'")
        await pg_admin(*(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in names))

    asyncio.run(drop_all())


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return cast(str, request.param)


_COUNTER = itertools.count()


@pytest.fixture
def fresh_url(backend: str, tmp_path: Path, pg_session_db: str,
              ) -> Callable[[], Awaitable[str]]:
    """Factory for a URL of a new, empty database (PostgreSQL: dropped at session end)."""

    async def make() -> str:
        n = next(_COUNTER)
        if backend == "sqlite":
            return f"sqlite:///{tmp_path}/fresh{n}.db"
        name = f"{pg_session_db}_{n}"
        await pg_admin(f'CREATE DATABASE "{name}"')
        return f"{PG_SERVER}/{name}"

    return make


@pytest.fixture
def store_url(backend: str, tmp_path: Path, pg_session_db: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/store.db"
    return f"{PG_SERVER}/{pg_session_db}"


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[SqlStore]:
    s = cast(SqlStore, await open_store(store_url))
    await s.migrate()
    if store_url.startswith("postgresql"):
        async with s.engine.begin() as conn:
            await conn.execute(sa.text(
                "TRUNCATE virtual_keys, usage_ledger, audit_events RESTART IDENTITY"))
    try:
        yield s
    finally:
        await s.close()
