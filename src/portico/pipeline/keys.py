"""Virtual keys: minted once, stored only as an HMAC, looked up by hash, compared in constant time.

A short in-process cache keeps the hot path off the database; revocations made through this
process drop the entry at once, and other replicas see them within the cache TTL.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import uuid
from typing import TYPE_CHECKING

from portico.clock import Clock
from portico.errors import AuthError, GatewayUnavailable, InvalidRequest
from portico.secret import Secret
from portico.store.base import KeyStore
from portico.store.records import KeyRecord, KeySettings

if TYPE_CHECKING:
    from portico.pipeline.teams import TeamDirectory

log = logging.getLogger("portico.keys")
KEY_PREFIX = "sk-pt-"
CACHE_TTL_SECONDS = 5.0
REFRESH_AHEAD_SECONDS = 1.0
_CACHE_MAX = 10_000


def derive_hash_secret(master: Secret) -> Secret:
    """A pepper for key hashes derived from the master key when none is configured."""
    digest = hmac.new(master.reveal().encode(), b"portico/virtual-key-hash/v1", hashlib.sha256)
    return Secret(digest.hexdigest())


class KeyService:
    def __init__(self, store: KeyStore, hash_secret: Secret, clock: Clock,
                 master: Secret | None, *, teams: TeamDirectory | None = None) -> None:
        self._store = store
        # Keys of archived teams are refused; team lookups are cached for the same TTL.
        self._teams = teams
        self._pepper = hash_secret.reveal().encode()
        self._clock = clock
        self._master = master.reveal().encode() if master else None
        self._cache: dict[str, tuple[float, KeyRecord | None]] = {}
        # Lookups in flight, by digest; they also keep background refresh tasks referenced.
        self._inflight: dict[str, asyncio.Future[KeyRecord | None]] = {}

    def hash_key(self, key: str) -> str:
        # One-shot HMAC (OpenSSL in one C call): a third of hmac.new(...).hexdigest()'s cost.
        return hmac.digest(self._pepper, key.encode(), "sha256").hex()

    def is_master(self, presented: str) -> bool:
        return self._master is not None and hmac.compare_digest(presented.encode(),
                                                                self._master)

    async def authenticate(self, presented: str) -> KeyRecord:
        """The active key record for a presented secret; AuthError otherwise (one message
        for unknown, revoked and expired keys, so the answer reveals nothing)."""
        digest = self.hash_key(presented)
        now = self._clock.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            record = cached[1]
            if cached[0] - now < REFRESH_AHEAD_SECONDS and digest not in self._inflight:
                # Refresh before expiry so a busy key never has every in-flight request miss
                # the cache at the same instant.
                self._start_lookup(digest)
        else:
            record = await self._lookup(digest)
        # The lookup was by hash; comparing again in constant time guards against any index
        # collation surprise in the database.
        if record is None or not hmac.compare_digest(record.key_hash, digest):
            raise AuthError("Incorrect API key provided.")
        if not record.active(int(self._clock.wall() * 1000)):
            raise AuthError("Incorrect API key provided.")
        if record.team is not None and self._teams is not None:
            team = await self._teams.lookup(record.team)
            if team is not None and team.archived:
                raise AuthError("Incorrect API key provided.")
        return record

    async def _lookup(self, digest: str) -> KeyRecord | None:
        """One database lookup per digest at a time; concurrent callers share its result."""
        return await asyncio.shield(self._inflight.get(digest) or self._start_lookup(digest))

    def _start_lookup(self, digest: str) -> asyncio.Future[KeyRecord | None]:
        # Registered synchronously, so every caller in this loop turn sees it in flight.
        future = asyncio.ensure_future(self._fetch(digest))
        self._inflight[digest] = future
        future.add_done_callback(lambda f: self._done(digest, f))
        return future

    def _done(self, digest: str, future: asyncio.Future[KeyRecord | None]) -> None:
        self._inflight.pop(digest, None)
        if not future.cancelled():
            future.exception()  # a failed background refresh is logged in _fetch, not raised

    async def _fetch(self, digest: str) -> KeyRecord | None:
        try:
            record = await self._store.get_key_by_hash(digest)
        except Exception as exc:
            log.warning("key store lookup failed: %s", type(exc).__name__)
            raise GatewayUnavailable("the key store is unavailable; retry shortly",
                                     code="key_store_unavailable", retry_after=1.0) from exc
        if len(self._cache) >= _CACHE_MAX:
            self._cache.clear()
        self._cache[digest] = (self._clock.monotonic() + CACHE_TTL_SECONDS, record)
        return record

    async def create(self, *, name: str, team: str | None = None,
                     allowed_models: list[str] | None = None, expires_at_ms: int | None = None,
                     is_admin: bool = False, settings: KeySettings | None = None
                     ) -> tuple[str, KeyRecord]:
        """A new key; the plain key is returned once and never stored."""
        if not name or len(name) > 200:
            raise InvalidRequest("name must be 1-200 characters", param="name")
        if team is not None and self._teams is not None:
            await self._teams.require_usable(team)
        plain = KEY_PREFIX + secrets.token_urlsafe(32)
        record = KeyRecord(
            id="vk_" + uuid.uuid4().hex[:20], name=name, key_hash=self.hash_key(plain),
            prefix=plain[: len(KEY_PREFIX) + 4], team=team,
            allowed_models=list(allowed_models or []), is_admin=is_admin,
            created_at_ms=int(self._clock.wall() * 1000), expires_at_ms=expires_at_ms,
            settings=settings or KeySettings(),
        )
        await self._store.create_key(record)
        return plain, record

    async def revoke(self, key_id: str) -> bool:
        done = await self._store.revoke_key(key_id, int(self._clock.wall() * 1000))
        # Drop cached records so this process refuses the key at once.
        self._cache.clear()
        return done
