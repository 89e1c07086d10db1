"""Record <-> row conversion and the audit hash: the one place column layout meets the structs."""

from __future__ import annotations

import hashlib
from operator import attrgetter
from typing import Any

import msgspec
from sqlalchemy import RowMapping
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.dml import Insert

from portico.store.records import (
    AttemptRow,
    AuditEvent,
    KeyRecord,
    KeySettings,
    LedgerRow,
    StoredAuditEvent,
    TeamRecord,
    TeamSettings,
)

GENESIS_HASH = "0" * 64

_ATTEMPTS = msgspec.json.Decoder(list[AttemptRow])
_MODELS = msgspec.json.Decoder(list[str])
_SETTINGS = msgspec.json.Decoder(KeySettings)
_DETAIL = msgspec.json.Decoder(dict[str, object])
_TEAM_SETTINGS = msgspec.json.Decoder(TeamSettings)


def _json(value: object) -> str:
    return msgspec.json.encode(value, order="sorted").decode()


def key_to_row(rec: KeyRecord) -> dict[str, object]:
    return {
        "id": rec.id, "name": rec.name, "key_hash": rec.key_hash, "prefix": rec.prefix,
        "team": rec.team, "allowed_models": _json(rec.allowed_models),
        "is_admin": rec.is_admin, "created_at_ms": rec.created_at_ms,
        "expires_at_ms": rec.expires_at_ms, "revoked_at_ms": rec.revoked_at_ms,
        "settings": _json(rec.settings),
    }


def key_from_row(row: RowMapping) -> KeyRecord:
    return KeyRecord(
        id=row["id"], name=row["name"], key_hash=row["key_hash"], prefix=row["prefix"],
        team=row["team"], allowed_models=_MODELS.decode(row["allowed_models"]),
        is_admin=bool(row["is_admin"]), created_at_ms=int(row["created_at_ms"]),
        expires_at_ms=_opt_int(row["expires_at_ms"]),
        revoked_at_ms=_opt_int(row["revoked_at_ms"]),
        settings=_SETTINGS.decode(row["settings"]),
    )


def team_to_row(rec: TeamRecord) -> dict[str, object]:
    return {"id": rec.id, "name": rec.name, "created_at_ms": rec.created_at_ms,
            "settings": team_settings_json(rec.settings), "archived_at_ms": rec.archived_at_ms}


def team_settings_json(settings: TeamSettings) -> str:
    return _json(settings)


def team_from_row(row: RowMapping) -> TeamRecord:
    return TeamRecord(id=row["id"], name=row["name"], created_at_ms=int(row["created_at_ms"]),
                      settings=_TEAM_SETTINGS.decode(row["settings"]),
                      archived_at_ms=_opt_int(row["archived_at_ms"]))


_LEDGER_SCALARS = (
    "request_id", "ts_ms", "key_id", "team", "model_requested", "provider", "deployment",
    "upstream_model", "tokens_in", "tokens_out", "tokens_cached", "tokens_cache_write",
    "cost_micros", "cost_estimated", "price_missing", "latency_ms", "ttft_ms", "status",
    "http_status", "error_code", "stream", "endpoint",
)


def ledger_to_row(row: LedgerRow) -> dict[str, object]:
    out: dict[str, object] = {name: getattr(row, name) for name in _LEDGER_SCALARS}
    out["attempts"] = _json(row.attempts)
    return out


def _compiled(stmt: Insert, dialect: Dialect, columns: tuple[str, ...]) -> tuple[str, list[str]]:
    """The statement's SQL for `dialect` and its positional parameter order."""
    compiled = stmt.compile(dialect=dialect, column_keys=list(columns))
    order = list(compiled.positiontup or ())
    if sorted(order) != sorted(columns):
        raise RuntimeError(f"unexpected parameters for {compiled.string!r}: {order}")
    return compiled.string, order


class LedgerInsert:
    """The ledger insert as driver SQL plus a row -> tuple function in its parameter order
    (values as `ledger_to_row` gives them)."""

    def __init__(self, stmt: Insert, dialect: Dialect) -> None:
        self.sql, order = _compiled(stmt, dialect, (*_LEDGER_SCALARS, "attempts"))
        self._at = order.index("attempts")
        self._get = attrgetter(*(n for n in order if n != "attempts"))

    def values(self, row: LedgerRow) -> tuple[object, ...]:
        scalars: tuple[object, ...] = self._get(row)
        return (*scalars[:self._at], _json(row.attempts), *scalars[self._at:])


_AUDIT_COLUMNS = ("event_id", "ts_ms", "kind", "actor", "action", "target", "detail",
                  "prev_hash", "hash")


class AuditInsert:
    """The audit insert as driver SQL; `values` chains one event onto `prev_hash`."""

    def __init__(self, stmt: Insert, dialect: Dialect) -> None:
        self.sql, order = _compiled(stmt, dialect, _AUDIT_COLUMNS)
        self._order = [_AUDIT_COLUMNS.index(n) for n in order]

    def values(self, event: AuditEvent, prev_hash: str) -> tuple[tuple[object, ...], str]:
        """(the row's parameters, its hash)."""
        row = audit_to_row(event, prev_hash)
        by_column = tuple(row[n] for n in _AUDIT_COLUMNS)
        return tuple(by_column[i] for i in self._order), str(row["hash"])


def ledger_from_row(row: RowMapping) -> LedgerRow:
    fields = {name: row[name] for name in _LEDGER_SCALARS}
    for flag in ("cost_estimated", "price_missing", "stream"):
        fields[flag] = bool(fields[flag])
    return LedgerRow(attempts=_ATTEMPTS.decode(row["attempts"]), **fields)


def canonical_event(event: AuditEvent) -> bytes:
    """Canonical JSON of an event: sorted keys, defaults omitted, msgspec's exact numbers."""
    return msgspec.json.encode(event, order="sorted")


def chain_hash(prev_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical_event(event)).hexdigest()


def audit_to_row(event: AuditEvent, prev_hash: str) -> dict[str, object]:
    return {
        "event_id": event.event_id, "ts_ms": event.ts_ms, "kind": event.kind,
        "actor": event.actor, "action": event.action, "target": event.target,
        "detail": _json(event.detail), "prev_hash": prev_hash,
        "hash": chain_hash(prev_hash, event),
    }


def audit_from_row(row: RowMapping) -> StoredAuditEvent:
    event = AuditEvent(
        event_id=row["event_id"], ts_ms=int(row["ts_ms"]), kind=row["kind"],
        actor=row["actor"], action=row["action"], target=row["target"],
        detail=_DETAIL.decode(row["detail"]),
    )
    return StoredAuditEvent(seq=int(row["seq"]), event=event, prev_hash=row["prev_hash"],
                            hash=row["hash"])


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)
