"""Teams: create, get by name, list (archived hidden by default), replace settings, archive."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import cast

import pytest
import sqlalchemy as sa
from alembic import command

from portico.errors import InvalidRequest
from portico.store._migrate import alembic_config
from portico.store.records import KeyRecord, TeamRecord, TeamSettings
from portico.store.sql import SqlStore, open_store


@pytest.fixture
async def teams(store: SqlStore) -> AsyncIterator[SqlStore]:
    # The shared fixture empties the original tables; this one also empties `teams`.
    async with store.engine.begin() as conn:
        await conn.execute(sa.text("DELETE FROM teams"))
    yield store


def team(n: int, name: str | None = None, **kw: object) -> TeamRecord:
    return TeamRecord(id=f"team_{n:08x}", name=name or f"team-{n}",
                      created_at_ms=1_700_000_000_000 + n, **kw)  # type: ignore[arg-type]


async def test_create_and_get_round_trip(teams: SqlStore) -> None:
    rec = team(1, settings=TeamSettings(
        requests_per_minute=60, tokens_per_minute=90_000, max_parallel=4,
        budget_micros_daily=1_000_000, budget_micros_monthly=20_000_000,
        budget_micros_quarterly=50_000_000, allowed_models=["gpt-4o", "claude-*"],
        pii_mode="mask", data_class="sensitive"))
    await teams.create_team(rec)
    assert await teams.get_team("team-1") == rec
    assert await teams.get_team("missing") is None
    bare = team(2)
    await teams.create_team(bare)
    assert await teams.get_team("team-2") == bare


async def test_names_are_unique_even_after_archive(teams: SqlStore) -> None:
    await teams.create_team(team(1, "red"))
    with pytest.raises(InvalidRequest) as dup:
        await teams.create_team(team(2, "red"))
    assert dup.value.code == "duplicate_team" and "red" in dup.value.message
    assert await teams.archive_team("red", 5)
    with pytest.raises(InvalidRequest):
        await teams.create_team(team(3, "red"))
    with pytest.raises(InvalidRequest):   # the id is unique too
        await teams.create_team(team(1, "blue"))
    assert [t.name for t in await teams.list_teams(include_archived=True)] == ["red"]


async def test_list_sorted_and_archived_hidden(teams: SqlStore) -> None:
    for n, name in enumerate(("green", "blue", "red")):
        await teams.create_team(team(n, name))
    assert [t.name for t in await teams.list_teams()] == ["blue", "green", "red"]
    assert await teams.archive_team("green", 1_800_000_000_000)
    assert [t.name for t in await teams.list_teams()] == ["blue", "red"]
    everything = await teams.list_teams(include_archived=True)
    assert [(t.name, t.archived) for t in everything] == [
        ("blue", False), ("green", True), ("red", False)]


async def test_update_settings_replaces_and_skips_archived(teams: SqlStore) -> None:
    await teams.create_team(team(1, "red", settings=TeamSettings(requests_per_minute=5)))
    updated = await teams.update_team_settings(
        "red", TeamSettings(tokens_per_minute=100, allowed_models=["gpt-4o"]))
    assert updated is not None
    assert updated.settings == TeamSettings(tokens_per_minute=100, allowed_models=["gpt-4o"])
    assert await teams.get_team("red") == updated
    assert await teams.update_team_settings("nobody", TeamSettings()) is None
    assert await teams.archive_team("red", 7)
    assert await teams.update_team_settings("red", TeamSettings(max_parallel=1)) is None
    stored = await teams.get_team("red")
    assert stored is not None and stored.settings == updated.settings


async def test_archive_once(teams: SqlStore) -> None:
    await teams.create_team(team(1, "red"))
    assert await teams.archive_team("red", 42)
    assert not await teams.archive_team("red", 43)
    assert not await teams.archive_team("nobody", 43)
    rec = await teams.get_team("red")
    assert rec is not None and rec.archived_at_ms == 42 and rec.archived


async def test_upgrade_from_0001_keeps_keys(fresh_url: Callable[[], Awaitable[str]]) -> None:
    """A database created before teams existed gains the table; its keys stay as they were."""
    store = cast(SqlStore, await open_store(await fresh_url()))
    try:
        async with store.engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "0001"))
        async with store.engine.begin() as conn:
            assert "teams" not in await conn.run_sync(
                lambda c: sa.inspect(c).get_table_names())
        key = KeyRecord(id="vk_1", name="k", key_hash="h" * 64, prefix="sk-", team="red",
                        created_at_ms=1)
        await store.create_key(key)
        await store.migrate()
        await store.migrate()
        assert await store.get_key("vk_1") == key
        await store.create_team(team(1, "red"))
        assert [t.name for t in await store.list_teams()] == ["red"]
    finally:
        await store.close()
