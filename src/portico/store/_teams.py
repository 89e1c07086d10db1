"""Team queries for `SqlStore`: create, read, list, replace settings, archive.

Archived teams keep their row and name: keys and ledger rows refer to teams by name, so a reused
name would silently merge two teams' history.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from portico.errors import InvalidRequest
from portico.store import _codec
from portico.store.records import TeamRecord, TeamSettings


async def create(conn: AsyncConnection, table: sa.Table, rec: TeamRecord) -> None:
    await conn.execute(sa.insert(table), [_codec.team_to_row(rec)])


def duplicate(name: str) -> InvalidRequest:
    return InvalidRequest(f"team {name!r} already exists (names of archived teams are not "
                          "reused)", param="name", code="duplicate_team")


async def get(conn: AsyncConnection, table: sa.Table, name: str) -> TeamRecord | None:
    row = (await conn.execute(sa.select(table).where(table.c.name == name))).mappings().first()
    return None if row is None else _codec.team_from_row(row)


async def list_all(conn: AsyncConnection, table: sa.Table,
                   include_archived: bool) -> list[TeamRecord]:
    stmt = sa.select(table).order_by(table.c.name)
    if not include_archived:
        stmt = stmt.where(table.c.archived_at_ms.is_(None))
    rows = (await conn.execute(stmt)).mappings().all()
    return [_codec.team_from_row(r) for r in rows]


async def update_settings(conn: AsyncConnection, table: sa.Table, name: str,
                          settings: TeamSettings) -> TeamRecord | None:
    stmt = (sa.update(table)
            .where(table.c.name == name, table.c.archived_at_ms.is_(None))
            .values(settings=_codec.team_settings_json(settings)))
    if (await conn.execute(stmt)).rowcount != 1:
        return None
    return await get(conn, table, name)


async def archive(conn: AsyncConnection, table: sa.Table, name: str, at_ms: int) -> bool:
    stmt = (sa.update(table)
            .where(table.c.name == name, table.c.archived_at_ms.is_(None))
            .values(archived_at_ms=at_ms))
    return (await conn.execute(stmt)).rowcount == 1

