"""Virtual keys: create, look up by id and hash, list, revoke."""

from __future__ import annotations

import pytest

from portico.errors import InvalidRequest
from portico.store.records import KeyRecord, KeySettings
from portico.store.sql import SqlStore


def key(n: int, team: str | None = "blue", **kw: object) -> KeyRecord:
    return KeyRecord(id=f"vk_{n}", name=f"key {n}", key_hash=f"{n:064x}", prefix=f"sk-{n}",
                     team=team, created_at_ms=1_700_000_000_000 + n, **kw)  # type: ignore[arg-type]


async def test_create_and_get_round_trip(store: SqlStore) -> None:
    rec = key(1, allowed_models=["gpt-4o", "claude"], is_admin=True,
              expires_at_ms=1_800_000_000_000,
              settings=KeySettings(requests_per_minute=60, budget_micros_daily=5_000_000,
                                   pii_mode="mask", max_tokens_over_cap="reject"))
    await store.create_key(rec)
    assert await store.get_key("vk_1") == rec
    assert await store.get_key_by_hash(rec.key_hash) == rec
    assert await store.get_key("vk_missing") is None
    assert await store.get_key_by_hash("0" * 64 + "x") is None


async def test_duplicate_id_or_hash_is_rejected(store: SqlStore) -> None:
    await store.create_key(key(1))
    with pytest.raises(InvalidRequest):
        await store.create_key(key(1))
    clash = key(2)
    clash.key_hash = key(1).key_hash
    with pytest.raises(InvalidRequest):
        await store.create_key(clash)
    assert [k.id for k in await store.list_keys()] == ["vk_1"]


async def test_list_by_team(store: SqlStore) -> None:
    for n, team in [(3, "blue"), (1, "red"), (2, None), (4, "blue")]:
        await store.create_key(key(n, team=team))
    assert [k.id for k in await store.list_keys()] == ["vk_1", "vk_2", "vk_3", "vk_4"]
    assert [k.id for k in await store.list_keys(team="blue")] == ["vk_3", "vk_4"]
    assert await store.list_keys(team="green") == []


async def test_revoke(store: SqlStore) -> None:
    await store.create_key(key(1))
    assert await store.revoke_key("vk_1", 1_700_000_100_000) is True
    got = await store.get_key("vk_1")
    assert got is not None and got.revoked_at_ms == 1_700_000_100_000
    assert not got.active(1_700_000_200_000)
    assert await store.revoke_key("vk_1", 1_700_000_300_000) is False  # already revoked
    got = await store.get_key("vk_1")
    assert got is not None and got.revoked_at_ms == 1_700_000_100_000
    assert await store.revoke_key("vk_nope", 1) is False


async def test_ping(store: SqlStore) -> None:
    assert await store.ping() is True
