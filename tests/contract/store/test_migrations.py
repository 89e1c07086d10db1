"""Migrations: packaged, idempotent, safe to run concurrently, and matching the query tables."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import cast

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from portico.store._migrate import alembic_config
from portico.store._tables import VERSION_TABLE, build_metadata
from portico.store.base import LedgerQuery
from portico.store.records import LedgerRow
from portico.store.sql import SqlStore, open_store

REPO = Path(__file__).resolve().parents[3]
FreshUrl = Callable[[], Awaitable[str]]


async def tables(store: SqlStore) -> set[str]:
    async with store.engine.connect() as conn:
        return set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))


async def current_revision(store: SqlStore) -> str | None:
    async with store.engine.connect() as conn:
        return await conn.run_sync(
            lambda c: MigrationContext.configure(
                c, opts={"version_table": VERSION_TABLE}).get_current_revision())


async def test_migrate_fresh_then_again(fresh_url: FreshUrl) -> None:
    store = cast(SqlStore, await open_store(await fresh_url()))
    try:
        await store.migrate()
        await store.write_ledger([LedgerRow(request_id="r1", ts_ms=1, key_id=None, team=None,
                                            model_requested="m")])
        await store.migrate()  # no-op, data kept
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert await current_revision(store) == head
        assert {"virtual_keys", "usage_ledger", "audit_events", "teams",
                VERSION_TABLE} <= await tables(store)
        assert len(await store.query_ledger(LedgerQuery())) == 1
    finally:
        await store.close()


async def test_concurrent_migrators(fresh_url: FreshUrl) -> None:
    """Several processes migrating one fresh database at once (one process migrates once:
    Alembic's `context`/`op` proxies are process-global)."""
    url = await fresh_url()
    procs = [await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.contract.store._migrator", url,
        cwd=REPO, stderr=subprocess.PIPE) for _ in range(3)]
    for p in procs:
        _out, err = await p.communicate()
        assert p.returncode == 0, err.decode()[-2000:]
    store = cast(SqlStore, await open_store(url))
    try:
        assert await current_revision(store) is not None
    finally:
        await store.close()


async def test_schema_matches_query_tables(fresh_url: FreshUrl) -> None:
    store = cast(SqlStore, await open_store(await fresh_url()))
    try:
        await store.migrate()
        metadata = build_metadata()[0]
        async with store.engine.connect() as conn:
            diff = await conn.run_sync(lambda c: compare_metadata(
                MigrationContext.configure(c, opts={"compare_type": True}), metadata))
        # The version table is Alembic's own, not part of the query metadata.
        assert [d for d in diff if not (d[0] == "remove_table" and d[1].name == VERSION_TABLE)
                ] == []
    finally:
        await store.close()
