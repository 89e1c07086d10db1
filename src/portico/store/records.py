"""The rows the stores keep. Times are epoch milliseconds (int); money is integer micro-USD."""

from __future__ import annotations

from typing import Literal

import msgspec

PiiMode = Literal["off", "detect", "mask", "block"]
DataClass = Literal["public", "internal", "sensitive"]
Priority = Literal["high", "normal", "low"]
LedgerStatus = Literal["ok", "error", "partial", "cancelled"]


class KeySettings(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True, kw_only=True):
    """Per-key policy knobs; stored as one JSON column so new knobs need no migration."""

    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    max_parallel: int | None = None
    max_tokens_cap: int | None = None
    max_tokens_over_cap: Literal["cap", "reject"] = "cap"
    budget_micros_daily: int | None = None
    budget_micros_monthly: int | None = None
    max_stream_cost_micros: int | None = None
    sentence_buffer: bool | None = None   # coalesce streamed deltas to sentence ends
    pii_mode: PiiMode | None = None
    data_class: DataClass | None = None
    priority: Priority | None = None


class KeyRecord(msgspec.Struct, kw_only=True):
    id: str                         # public id, e.g. "vk_3f9a…"; safe to show
    name: str
    key_hash: str                   # HMAC-SHA256 hex of the full key; the key itself is never kept
    prefix: str                     # first characters of the key, for humans
    team: str | None = None
    allowed_models: list[str] = []  # empty: every model
    is_admin: bool = False
    created_at_ms: int
    expires_at_ms: int | None = None
    revoked_at_ms: int | None = None
    settings: KeySettings = msgspec.field(default_factory=KeySettings)

    def active(self, now_ms: int) -> bool:
        if self.revoked_at_ms is not None:
            return False
        return self.expires_at_ms is None or now_ms < self.expires_at_ms


class TeamSettings(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True, kw_only=True):
    """Per-team policy knobs; a value set here overrides `limits.teams[name]` in the config."""

    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    max_parallel: int | None = None
    budget_micros_daily: int | None = None
    budget_micros_monthly: int | None = None
    budget_micros_quarterly: int | None = None
    allowed_models: list[str] = []  # empty: every model
    pii_mode: PiiMode | None = None
    data_class: DataClass | None = None


class TeamRecord(msgspec.Struct, kw_only=True):
    """A team; keys and ledger rows refer to it by name, so names are never reused."""

    id: str                         # e.g. "team_3f9a…"
    name: str
    created_at_ms: int
    settings: TeamSettings = msgspec.field(default_factory=TeamSettings)
    archived_at_ms: int | None = None

    @property
    def archived(self) -> bool:
        return self.archived_at_ms is not None


class AttemptRow(msgspec.Struct, omit_defaults=True):
    deployment: str
    status: int | None = None        # upstream HTTP status, None when no response
    error_code: str | None = None
    latency_ms: int = 0


class LedgerRow(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One client request; written once, idempotently keyed by request_id."""

    request_id: str
    ts_ms: int
    key_id: str | None
    team: str | None
    model_requested: str
    provider: str | None = None
    deployment: str | None = None
    upstream_model: str | None = None
    attempts: list[AttemptRow] = []
    tokens_in: int = 0
    tokens_out: int = 0
    tokens_cached: int = 0
    tokens_cache_write: int = 0
    cost_micros: int = 0
    cost_estimated: bool = False     # usage came from our estimate, not the provider
    price_missing: bool = False      # no price known: cost is not zero, it is unknown
    latency_ms: int = 0
    ttft_ms: int | None = None
    status: LedgerStatus = "ok"
    http_status: int = 200
    error_code: str | None = None
    stream: bool = False
    endpoint: str = "chat"

    @property
    def input_share(self) -> float:
        total = self.tokens_in + self.tokens_out
        return self.tokens_in / total if total else 0.0


class AuditEvent(msgspec.Struct, kw_only=True, omit_defaults=True):
    """An audit event as written; the store assigns seq, prev_hash and hash in order."""

    event_id: str                    # idempotency key (request id or a uuid)
    ts_ms: int
    kind: Literal["request", "admin"]
    actor: str                       # key id, "master", or "system"
    action: str                      # e.g. "chat.completions", "key.create", "key.revoke"
    target: str | None = None
    detail: dict[str, object] = {}   # never values of PII or secrets: counts, ids, decisions


class StoredAuditEvent(msgspec.Struct, kw_only=True):
    seq: int
    event: AuditEvent
    prev_hash: str
    hash: str
