"""Store protocols: what the gateway needs from durable state, whichever engine backs it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

import msgspec

from portico.store.records import (
    AuditEvent,
    KeyRecord,
    LedgerRow,
    StoredAuditEvent,
    TeamRecord,
    TeamSettings,
)

SpendGroup = Literal["key", "team", "model", "provider", "day"]


class LedgerQuery(msgspec.Struct, kw_only=True):
    since_ms: int | None = None
    until_ms: int | None = None
    key_id: str | None = None
    team: str | None = None
    limit: int = 1000


class SpendLine(msgspec.Struct, kw_only=True):
    group: str
    requests: int
    ok_requests: int
    tokens_in: int
    tokens_out: int
    tokens_cached: int
    cost_micros: int
    price_missing: int               # rows whose cost is unknown


class AuditVerification(msgspec.Struct, kw_only=True):
    """Result of re-walking the audit hash chain; `first_bad_seq` is None when intact."""

    ok: bool
    count: int                       # rows checked
    first_bad_seq: int | None = None


class KeyStore(Protocol):
    async def create_key(self, rec: KeyRecord) -> None: ...
    async def get_key(self, key_id: str) -> KeyRecord | None: ...
    async def get_key_by_hash(self, key_hash: str) -> KeyRecord | None: ...
    async def list_keys(self, team: str | None = None) -> list[KeyRecord]: ...
    async def revoke_key(self, key_id: str, at_ms: int) -> bool: ...


class TeamStore(Protocol):
    async def create_team(self, rec: TeamRecord) -> None:
        """Insert; a name (or id) already taken, archived or not, is an InvalidRequest."""
        ...

    async def get_team(self, name: str) -> TeamRecord | None: ...

    async def list_teams(self, include_archived: bool = False) -> list[TeamRecord]: ...

    async def update_team_settings(self, name: str,
                                   settings: TeamSettings) -> TeamRecord | None:
        """Replace an active team's settings; None when no active team has this name."""
        ...

    async def archive_team(self, name: str, at_ms: int) -> bool:
        """Archive an active team; False when it does not exist or is already archived."""
        ...


class UsageStore(Protocol):
    async def write_ledger(self, rows: Sequence[LedgerRow]) -> None:
        """Insert rows; a request_id already present is skipped (idempotent replay)."""
        ...

    async def query_ledger(self, q: LedgerQuery) -> list[LedgerRow]: ...

    async def spend(self, group: SpendGroup, q: LedgerQuery) -> list[SpendLine]: ...


class AuditStore(Protocol):
    async def append_audit(self, events: Sequence[AuditEvent]) -> None:
        """Append in order, chaining hashes; an event_id already present is skipped."""
        ...

    async def list_audit(self, since_ms: int | None = None, actor: str | None = None,
                         limit: int = 1000) -> list[StoredAuditEvent]: ...

    async def latest_audit(self, actor: str, actions: Sequence[str]
                           ) -> StoredAuditEvent | None:
        """The newest event by `actor` with one of `actions`; None when there is none."""
        ...

    async def verify_audit(self) -> AuditVerification:
        """Recompute every hash in seq order; report the first row that does not chain."""
        ...


class Store(KeyStore, TeamStore, UsageStore, AuditStore, Protocol):
    async def migrate(self) -> None: ...
    async def ping(self) -> bool: ...
    async def close(self) -> None: ...
