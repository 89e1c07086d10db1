"""SQLAlchemy Core tables the queries use; migrations/versions/ creates them (a test checks drift).

JSON values live in Text columns holding msgspec-encoded JSON: byte-stable on both engines, which
the audit hash chain needs (PostgreSQL JSONB would reorder keys and renormalize numbers).
"""

from __future__ import annotations

import sqlalchemy as sa

VERSION_TABLE = "portico_schema_version"


def build_metadata() -> tuple[sa.MetaData, sa.Table, sa.Table, sa.Table]:
    """Return (metadata, virtual_keys, usage_ledger, audit_events); `teams` is in metadata."""
    md = sa.MetaData()
    keys = sa.Table(
        "virtual_keys", md,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("key_hash", sa.String(128), nullable=False),
        sa.Column("prefix", sa.String(32), nullable=False),
        sa.Column("team", sa.String(200), nullable=True),
        sa.Column("allowed_models", sa.Text(), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("expires_at_ms", sa.BigInteger(), nullable=True),
        sa.Column("revoked_at_ms", sa.BigInteger(), nullable=True),
        sa.Column("settings", sa.Text(), nullable=False),
        sa.Index("ix_virtual_keys_key_hash", "key_hash", unique=True),
        sa.Index("ix_virtual_keys_team", "team"),
    )
    ledger = sa.Table(
        "usage_ledger", md,
        sa.Column("request_id", sa.String(128), primary_key=True),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=True),
        sa.Column("team", sa.String(200), nullable=True),
        sa.Column("model_requested", sa.String(200), nullable=False),
        sa.Column("provider", sa.String(100), nullable=True),
        sa.Column("deployment", sa.String(200), nullable=True),
        sa.Column("upstream_model", sa.String(200), nullable=True),
        sa.Column("attempts", sa.Text(), nullable=False),
        sa.Column("tokens_in", sa.BigInteger(), nullable=False),
        sa.Column("tokens_out", sa.BigInteger(), nullable=False),
        sa.Column("tokens_cached", sa.BigInteger(), nullable=False),
        sa.Column("tokens_cache_write", sa.BigInteger(), nullable=False),
        sa.Column("cost_micros", sa.BigInteger(), nullable=False),
        sa.Column("cost_estimated", sa.Boolean(), nullable=False),
        sa.Column("price_missing", sa.Boolean(), nullable=False),
        sa.Column("latency_ms", sa.BigInteger(), nullable=False),
        sa.Column("ttft_ms", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=False),
        sa.Column("error_code", sa.String(100), nullable=True),
        sa.Column("stream", sa.Boolean(), nullable=False),
        sa.Column("endpoint", sa.String(32), nullable=False),
        sa.Index("ix_usage_ledger_ts_ms", "ts_ms"),
        sa.Index("ix_usage_ledger_key_id", "key_id"),
        sa.Index("ix_usage_ledger_team", "team"),
    )
    audit = sa.Table(
        "audit_events", md,
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(200), nullable=False),
        sa.Column("target", sa.String(500), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Index("ix_audit_events_event_id", "event_id", unique=True),
        sa.Index("ix_audit_events_ts_ms", "ts_ms"),
        sa.Index("ix_audit_events_actor", "actor"),
    )
    teams_table(md)
    return md, keys, ledger, audit


def teams_table(md: sa.MetaData) -> sa.Table:
    return sa.Table(
        "teams", md,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("settings", sa.Text(), nullable=False),
        sa.Column("archived_at_ms", sa.BigInteger(), nullable=True),
        sa.Index("ix_teams_name", "name", unique=True),
    )
