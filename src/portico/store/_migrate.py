"""Run the packaged Alembic migrations on an open connection (both engines, several processes).

PostgreSQL serializes concurrent migrators with a transaction-scoped advisory lock; SQLite with
the BEGIN IMMEDIATE every write transaction opens with. DDL is transactional on both.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine

from portico.store._engine import Backend

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Arbitrary constant shared by every Portico process: the "migration in progress" lock id.
MIGRATE_LOCK_ID = 0x504F5254_4D494752 & 0x7FFF_FFFF_FFFF_FFFF


def alembic_config(connection: sa.Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection: sa.Connection) -> None:
    command.upgrade(alembic_config(connection), "head")


async def run_migrations(engine: AsyncEngine, backend: Backend) -> None:
    async with engine.begin() as conn:
        if backend is Backend.POSTGRES:
            await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"),
                               {"k": MIGRATE_LOCK_ID})
        await conn.run_sync(_upgrade)
