"""Virtual keys: hashed storage, single-flight lookups, refresh-ahead, revoke and expiry."""

from __future__ import annotations

import asyncio

import pytest

from portico.clock import ManualClock
from portico.errors import AuthError
from portico.pipeline.keys import CACHE_TTL_SECONDS, KEY_PREFIX, KeyService
from portico.secret import Secret
from portico.store.records import KeyRecord


class CountingKeys:
    """An in-memory KeyStore that counts lookups and can be made slow."""

    def __init__(self) -> None:
        self.rows: dict[str, KeyRecord] = {}
        self.lookups = 0
        self.gate: asyncio.Event | None = None

    async def create_key(self, rec: KeyRecord) -> None:
        self.rows[rec.key_hash] = rec

    async def get_key(self, key_id: str) -> KeyRecord | None:
        return next((r for r in self.rows.values() if r.id == key_id), None)

    async def get_key_by_hash(self, key_hash: str) -> KeyRecord | None:
        self.lookups += 1
        if self.gate is not None:
            await self.gate.wait()
        return self.rows.get(key_hash)

    async def list_keys(self, team: str | None = None) -> list[KeyRecord]:
        return list(self.rows.values())

    async def revoke_key(self, key_id: str, at_ms: int) -> bool:
        for h, r in self.rows.items():
            if r.id == key_id:
                self.rows[h] = KeyRecord(**{**{f: getattr(r, f) for f in r.__struct_fields__},
                                            "revoked_at_ms": at_ms})
                return True
        return False


def service() -> tuple[KeyService, CountingKeys, ManualClock]:
    store, clock = CountingKeys(), ManualClock()
    return KeyService(store, Secret("pepper"), clock, Secret("sk-master")), store, clock


async def test_key_is_stored_only_as_hash() -> None:
    svc, store, _ = service()
    plain, rec = await svc.create(name="a")
    assert plain.startswith(KEY_PREFIX)
    stored = store.rows[rec.key_hash]
    assert plain not in repr(stored)
    assert stored.prefix == plain[: len(KEY_PREFIX) + 4]
    assert (await svc.authenticate(plain)).id == rec.id


async def test_concurrent_misses_share_one_lookup() -> None:
    svc, store, _ = service()
    plain, _ = await svc.create(name="a")
    store.gate = asyncio.Event()
    waiters = [asyncio.create_task(svc.authenticate(plain)) for _ in range(50)]
    await asyncio.sleep(0)
    store.gate.set()
    records = await asyncio.gather(*waiters)
    assert store.lookups == 1
    assert {r.id for r in records} == {records[0].id}


async def test_refresh_ahead_keeps_hits_and_refreshes_once() -> None:
    svc, store, clock = service()
    plain, _ = await svc.create(name="a")
    await svc.authenticate(plain)
    clock.advance(CACHE_TTL_SECONDS - 0.5)
    await asyncio.gather(*(svc.authenticate(plain) for _ in range(10)))
    await asyncio.sleep(0)
    assert store.lookups == 2  # the first miss and one background refresh


async def test_unknown_revoked_and_expired_keys_get_one_message() -> None:
    svc, _, clock = service()
    plain, rec = await svc.create(name="a")
    expiring, _ = await svc.create(name="b", expires_at_ms=int(clock.wall() * 1000) + 1000)
    with pytest.raises(AuthError) as unknown:
        await svc.authenticate(KEY_PREFIX + "nope")
    assert await svc.revoke(rec.id)
    with pytest.raises(AuthError) as revoked:
        await svc.authenticate(plain)
    clock.advance(2)
    with pytest.raises(AuthError) as expired:
        await svc.authenticate(expiring)
    assert unknown.value.message == revoked.value.message == expired.value.message


async def test_master_key_compared_exactly() -> None:
    svc, _, _ = service()
    assert svc.is_master("sk-master")
    assert not svc.is_master("sk-master ")
    assert not svc.is_master("sk-maste")


async def test_store_outage_is_a_503_not_a_500() -> None:
    from portico.errors import GatewayUnavailable

    svc, store, _ = service()

    async def broken(key_hash: str) -> KeyRecord | None:
        raise OSError("database is down")

    store.get_key_by_hash = broken  # type: ignore[method-assign]
    with pytest.raises(GatewayUnavailable):
        await svc.authenticate(KEY_PREFIX + "x")
