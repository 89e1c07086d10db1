"""Config audit: canonical redaction, fingerprint stability, diff, and the derived event id."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from portico.config.loader import parse_config
from portico.config.secrets import ConfigError, resolve_secret
from portico.server.config_audit import (
    APPLIED,
    CHANGED,
    TRIGGER_ENV,
    ConfigOrigin,
    config_event,
    diff,
    fingerprint,
    redacted,
    rejected_event,
)
from portico.store.records import AuditEvent, StoredAuditEvent

SECRET = "sk-live-DO-NOT-LEAK-0123456789"
BASE = """
master_key: env:CA_MASTER
store: {url: "postgresql://portico:db-pass-LEAK@127.0.0.1:5432/portico?sslmode=disable&password=q-LEAK"}
redis: {url: "redis://:redis-pass-LEAK@127.0.0.1:6379/0"}
providers:
  openai:
    keys: [{id: k1, key: env:CA_OPENAI}, {id: k2, key: file:/run/secrets/openai}]
    headers: {OpenAI-Organization: org-header-LEAK}
models:
  - name: gpt
    deployments: [{provider: openai, model: gpt-4o-mini}]
"""


def form(text: str) -> dict[str, object]:
    return redacted(parse_config(text))


def stored(event: AuditEvent, seq: int = 1, hash_: str = "ab" * 32) -> StoredAuditEvent:
    return StoredAuditEvent(seq=seq, event=event, prev_hash="0" * 64, hash=hash_)


def test_secrets_appear_only_as_references(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CA_MASTER", SECRET)
    cfg = parse_config(BASE)
    assert resolve_secret("env:CA_MASTER", "master_key").reveal() == SECRET
    text = json.dumps(redacted(cfg))
    assert SECRET not in text
    assert "env:CA_MASTER" in text and "env:CA_OPENAI" in text
    assert "file:/run/secrets/openai" in text
    for leak in ("db-pass-LEAK", "q-LEAK", "redis-pass-LEAK", "org-header-LEAK"):
        assert leak not in text, leak
    f = redacted(cfg)
    store = f["store"]
    assert isinstance(store, dict)
    assert store["url"] == ("postgresql://portico:***@127.0.0.1:5432/portico"
                            "?sslmode=disable&password=***")


def test_a_literal_in_a_secret_field_is_masked() -> None:
    cfg = parse_config(BASE.replace("env:CA_MASTER", SECRET))
    text = json.dumps(redacted(cfg))
    assert SECRET not in text and "<redacted " in text


def test_fingerprint_ignores_mapping_order_and_written_out_defaults() -> None:
    reordered = """
models:
  - deployments: [{model: gpt-4o-mini, provider: openai}]
    name: gpt
providers:
  openai:
    headers: {OpenAI-Organization: org-header-LEAK}
    keys: [{key: env:CA_OPENAI, id: k1}, {id: k2, key: file:/run/secrets/openai}]
redis: {url: "redis://:redis-pass-LEAK@127.0.0.1:6379/0"}
store: {url: "postgresql://portico:db-pass-LEAK@127.0.0.1:5432/portico?sslmode=disable&password=q-LEAK"}
master_key: env:CA_MASTER
server: {port: 4000, host: 127.0.0.1}
retry: {max_attempts: 6}
"""
    assert fingerprint(form(BASE)) == fingerprint(form(reordered))
    assert fingerprint(form(BASE)) != fingerprint(form(BASE + "server: {port: 4001}\n"))


def test_header_and_password_changes_change_the_fingerprint_without_showing_values() -> None:
    other = BASE.replace("org-header-LEAK", "org-other-LEAK")
    assert fingerprint(form(BASE)) != fingerprint(form(other))
    changes = diff(form(BASE), form(other))
    assert [c.path for c in changes] == ["providers.openai.headers.OpenAI-Organization"]
    assert "LEAK" not in json.dumps(msgspec.to_builtins(changes))


def test_diff_matches_model_groups_by_name() -> None:
    added = BASE.replace("models:\n", "models:\n  - name: new\n    deployments: "
                         "[{provider: openai, model: gpt-4o}]\n")
    changes = diff(form(BASE), form(added))
    assert [c.path for c in changes] == ["models[name=new]"]
    assert changes[0].before is None
    after = changes[0].after
    assert isinstance(after, dict) and after["name"] == "new"
    port = diff(form(BASE), form(BASE + "server: {port: 4001}\n"))
    assert [(c.path, c.before, c.after) for c in port] == [("server.port", 4000, 4001)]
    assert diff(form(BASE), form(BASE)) == []


def test_first_event_is_applied_then_changes_chain_on_the_previous_event() -> None:
    origin = ConfigOrigin("/etc/portico.yaml", "startup")
    first = config_event(parse_config(BASE), origin, None, 1_000)
    assert first is not None and first.action == APPLIED and first.actor == "operator"
    assert first.target == "/etc/portico.yaml"
    assert first.event_id.startswith("config:genesis:")
    # Same config, same latest event: nothing to write (N workers starting together).
    assert config_event(parse_config(BASE), origin, stored(first), 2_000) is None
    changed_cfg = parse_config(BASE + "server: {port: 4001}\n")
    sighup = ConfigOrigin("/etc/portico.yaml", "sighup")
    a = config_event(changed_cfg, sighup, stored(first), 3_000)
    b = config_event(changed_cfg, sighup, stored(first), 4_000)
    assert a is not None and b is not None
    assert a.event_id == b.event_id and a.action == CHANGED
    detail = a.detail
    assert detail["how"] == "sighup"
    before, after = detail["before"], detail["after"]
    assert isinstance(before, dict) and isinstance(after, dict)
    assert before["fingerprint"] == first.detail["after"]["fingerprint"]  # type: ignore[index]
    assert before["seq"] == 1 and after["fingerprint"] != before["fingerprint"]
    assert detail["changes"] == [{"path": "server.port", "before": 4000, "after": 4001}]
    # Going back to the first config later is a new transition, not a duplicate id.
    back = config_event(parse_config(BASE), sighup, stored(a, seq=2, hash_="cd" * 32), 5_000)
    assert back is not None and back.event_id not in (first.event_id, a.event_id)


def test_event_survives_the_audit_encoding_and_carries_no_secret(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CA_MASTER", SECRET)
    event = config_event(parse_config(BASE), ConfigOrigin("/x.yaml"), None, 1)
    assert event is not None
    raw = msgspec.json.encode(event, order="sorted")
    assert SECRET.encode() not in raw and b"LEAK" not in raw
    assert msgspec.json.decode(raw, type=AuditEvent) == event


def test_origin_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PORTICO_CONFIG", raising=False)
    monkeypatch.delenv(TRIGGER_ENV, raising=False)
    assert ConfigOrigin.resolve(None) == ConfigOrigin("environment", "startup")
    assert ConfigOrigin.resolve("a.yaml", "sighup") == ConfigOrigin(
        str(tmp_path / "a.yaml"), "sighup")
    monkeypatch.setenv("PORTICO_CONFIG", "b.yaml")
    monkeypatch.setenv(TRIGGER_ENV, "sighup")
    assert ConfigOrigin.resolve(None) == ConfigOrigin(str(tmp_path / "b.yaml"), "sighup")


def test_rejected_event_names_the_path_not_values() -> None:
    err = ConfigError("models[0].deployments[0].provider", "provider 'nope' is not configured")
    event = rejected_event(ConfigOrigin("/x.yaml", "sighup"), err, 7)
    assert event.action == "config.reload_rejected" and event.target == "/x.yaml"
    assert event.detail["error_path"] == "models[0].deployments[0].provider"
    assert rejected_event(ConfigOrigin("/x.yaml"), err, 7).event_id != event.event_id
