"""Config events on both engines: one event per change however many workers record it, the
latest config event read back by action, and the chain still verifying."""

from __future__ import annotations

import asyncio
import json

import pytest

from portico.config.loader import parse_config
from portico.config.secrets import ConfigError
from portico.server.config_audit import (
    ACTOR,
    APPLIED,
    CHANGED,
    REJECTED,
    ConfigOrigin,
    record_config,
    rejected_event,
)
from portico.store import open_store
from portico.store.records import AuditEvent
from portico.store.sql import SqlStore

SECRET = "sk-contract-LEAK-9876543210"
CFG = """
master_key: env:CA_CONTRACT_MASTER
providers:
  openai: {keys: [{id: k1, key: env:CA_CONTRACT_OPENAI}]}
models:
  - name: gpt
    deployments: [{provider: openai, model: gpt-4o-mini}]
"""
ORIGIN = ConfigOrigin("/etc/portico.yaml")


async def test_concurrent_workers_write_one_event_per_change(store: SqlStore,
                                                             store_url: str) -> None:
    others = [await open_store(store_url) for _ in range(4)]
    try:
        cfg = parse_config(CFG)
        written = await asyncio.gather(*(record_config(s, cfg, ORIGIN, 1_000 + i)
                                         for i, s in enumerate([store, *others])))
        assert len({e.event_id for e in written if e is not None}) == 1
        new = parse_config(CFG + "server: {port: 4001}\n")
        sighup = ConfigOrigin(ORIGIN.path, "sighup")
        await asyncio.gather(*(record_config(s, new, sighup, 2_000 + i)
                               for i, s in enumerate([store, *others])))
        # A worker restarting on the same config afterwards writes nothing.
        assert await record_config(others[0], new, ORIGIN, 3_000) is None
    finally:
        for s in others:
            await s.close()
    events = [s.event for s in await store.list_audit(actor=ACTOR)]
    assert [e.action for e in events] == [APPLIED, CHANGED]
    assert events[1].detail["how"] == "sighup"
    assert events[1].detail["changes"] == [
        {"path": "server.port", "before": 4000, "after": 4001}]
    assert (await store.verify_audit()).ok


async def test_latest_audit_reads_the_newest_config_event(store: SqlStore) -> None:
    assert await store.latest_audit(ACTOR, (APPLIED, CHANGED)) is None
    cfg = parse_config(CFG)
    first = await record_config(store, cfg, ORIGIN, 1_000)
    assert first is not None
    noise = [AuditEvent(event_id=f"r{i}", ts_ms=1_100 + i, kind="request", actor="vk_1",
                        action="chat.completions") for i in range(5)]
    rejected = rejected_event(ORIGIN, ConfigError("models", "bad"), 1_200)
    await store.append_audit([*noise, rejected])
    latest = await store.latest_audit(ACTOR, (APPLIED, CHANGED))
    assert latest is not None and latest.event == first
    newest = await store.latest_audit(ACTOR, (REJECTED,))
    assert newest is not None and newest.event == rejected
    back = await record_config(store, parse_config(CFG + "server: {port: 4001}\n"), ORIGIN,
                               1_300)
    latest = await store.latest_audit(ACTOR, (APPLIED, CHANGED))
    assert back is not None and latest is not None and latest.event == back
    assert latest.seq > newest.seq


async def test_resolved_secrets_never_reach_the_store(
        store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CA_CONTRACT_MASTER", SECRET)
    await record_config(store, parse_config(CFG), ORIGIN, 1_000)
    dumped = json.dumps([s.event.detail for s in await store.list_audit()])
    assert SECRET not in dumped and "env:CA_CONTRACT_MASTER" in dumped
