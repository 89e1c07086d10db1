"""Config changes in the audit chain: a canonical redacted form of the loaded config, its
fingerprint, and one `config.applied` / `config.changed` event per change, written once however
many workers start with the same config (the event id is derived, and the store dedupes it)."""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import msgspec

from portico.config.model import PorticoConfig
from portico.config.secrets import ConfigError
from portico.secret import Secret
from portico.store.base import AuditStore
from portico.store.records import AuditEvent, StoredAuditEvent

log = logging.getLogger("portico.config_audit")

TRIGGER_ENV = "PORTICO_CONFIG_TRIGGER"   # set to "sighup" for processes started by a reload
ACTOR = "operator"
APPLIED, CHANGED, REJECTED = "config.applied", "config.changed", "config.reload_rejected"
ENVIRONMENT = "environment"              # the origin of a config built from key variables
_SECRET_REF_FIELDS = frozenset({"master_key", "key_hash_secret", "key"})
_SECRET_QUERY_WORDS = ("pass", "secret", "token", "key", "auth", "sig")
_ID = 16                                 # hex digits of each hash in an event id

Trigger = Literal["startup", "sighup"]


@dataclass(frozen=True)
class ConfigOrigin:
    """Where the config came from (the audit target) and what made this process load it."""

    path: str
    how: Trigger = "startup"

    @classmethod
    def resolve(cls, path: str | None, how: str | None = None) -> ConfigOrigin:
        """Mirror `portico.cli._common.load`: --config, $PORTICO_CONFIG, ./portico.yaml, env."""
        chosen = path or os.environ.get("PORTICO_CONFIG") or (
            "portico.yaml" if Path("portico.yaml").exists() else None)
        trigger: Trigger = "sighup" if (how or os.environ.get(TRIGGER_ENV)) == "sighup" \
            else "startup"
        return cls(os.path.abspath(chosen) if chosen else ENVIRONMENT, trigger)


class Snapshot(msgspec.Struct, kw_only=True):
    fingerprint: str
    config: dict[str, object] | None = None
    seq: int | None = None               # the audit row that recorded it (before only)


class Change(msgspec.Struct, kw_only=True):
    path: str
    before: object = None
    after: object = None


class ConfigDetail(msgspec.Struct, kw_only=True):
    how: Trigger
    after: Snapshot
    before: Snapshot | None = None
    changes: list[Change] = []


def redacted(config: PorticoConfig) -> dict[str, object]:
    """Every effective setting, defaults included (so writing a default out changes nothing),
    with secrets shown only as their `env:` / `file:` references, URL passwords and secret-ish
    query values masked, and provider header values replaced by a short digest."""
    form = _plain(config, "")
    assert isinstance(form, dict)
    return form


def fingerprint(form: dict[str, object]) -> str:
    """sha256 of the sorted-key JSON: mapping order in the YAML does not matter."""
    return hashlib.sha256(msgspec.json.encode(form, order="sorted")).hexdigest()


def _plain(value: object, field: str) -> object:
    if isinstance(value, msgspec.Struct):
        return {f.encode_name: _plain(getattr(value, f.name), f.name)
                for f in msgspec.structs.fields(value)}
    if isinstance(value, dict):
        if field == "headers":
            return {str(k): _masked(str(v)) for k, v in value.items()}
        return {str(k): _plain(v, "") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, "") for v in value]
    if isinstance(value, str):
        if field in _SECRET_REF_FIELDS:
            scheme = value.partition(":")[0]
            return value if scheme in ("env", "file") else _masked(value)
        return _url(value)
    return msgspec.to_builtins(value)


def _masked(value: str) -> str:
    return f"<redacted {Secret(value).fingerprint()}>"


def _url(value: str) -> str:
    if "://" not in value:
        return value
    try:
        parts = urlsplit(value)
        password = parts.password
    except ValueError:
        return value
    netloc = parts.netloc
    if password is not None:
        netloc = netloc.replace(f":{password}@", ":***@", 1)
    query = parts.query
    if query:
        pairs = [(k, "***" if any(w in k.lower() for w in _SECRET_QUERY_WORDS) else v)
                 for k, v in parse_qsl(query, keep_blank_values=True)]
        query = urlencode(pairs, safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def diff(before: object, after: object, path: str = "") -> list[Change]:
    """Changed settings as dotted paths; list items with a unique `name` (or `id`) are matched
    by it (`models[name=gpt]`), so inserting a model group does not shift every index."""
    if before == after:
        return []
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[Change] = []
        for k in sorted(set(before) | set(after)):
            sub = f"{path}.{k}" if path else str(k)
            out += diff(before.get(k), after.get(k), sub)
        return out
    if isinstance(before, list) and isinstance(after, list):
        key = _list_key(before) if _list_key(before) == _list_key(after) else None
        if key is not None:
            old = {str(x[key]): x for x in before}
            new = {str(x[key]): x for x in after}
            out = []
            for name in [*old, *(n for n in new if n not in old)]:
                out += diff(old.get(name), new.get(name), f"{path}[{key}={name}]")
            if not out:   # same items, new order (e.g. fallback order of deployments)
                out = [Change(path=path, before=before, after=after)]
            return out
        if len(before) == len(after):
            out = []
            for i, (b, a) in enumerate(zip(before, after, strict=True)):
                out += diff(b, a, f"{path}[{i}]")
            return out
    return [Change(path=path, before=before, after=after)]


def _list_key(items: list[object]) -> str | None:
    for key in ("name", "id"):
        if items and all(isinstance(x, dict) and isinstance(x.get(key), str) for x in items):
            names = [x[key] for x in items if isinstance(x, dict)]
            if len(set(names)) == len(names):
                return key
    return None


def config_event(config: PorticoConfig, origin: ConfigOrigin, last: StoredAuditEvent | None,
                 now_ms: int) -> AuditEvent | None:
    """The event recording `config`, or None when `last` already recorded this fingerprint.

    The id names the previous config event's chain hash and the new fingerprint, so workers
    that start together (and so read the same `last`) produce one event; going back to an
    earlier config later is a new transition with a new id."""
    form = redacted(config)
    fp = fingerprint(form)
    previous = _previous(last)
    if previous is not None and previous.after.fingerprint == fp:
        return None
    before: Snapshot | None = None
    changes: list[Change] = []
    if last is not None:
        old_fp = previous.after.fingerprint if previous is not None else "unknown"
        old_form = previous.after.config if previous is not None else None
        before = Snapshot(fingerprint=old_fp, seq=last.seq)
        changes = diff(old_form or {}, form)
    detail = ConfigDetail(how=origin.how, after=Snapshot(fingerprint=fp, config=form),
                          before=before, changes=changes)
    prev_id = last.hash[:_ID] if last is not None else "genesis"
    return AuditEvent(
        event_id=f"config:{prev_id}:{fp[:_ID]}", ts_ms=now_ms, kind="admin", actor=ACTOR,
        action=APPLIED if last is None else CHANGED, target=origin.path,
        detail=msgspec.to_builtins(detail))


def _previous(last: StoredAuditEvent | None) -> ConfigDetail | None:
    if last is None:
        return None
    try:
        return msgspec.convert(last.event.detail, ConfigDetail)
    except msgspec.ValidationError:
        log.warning("audit row %d is a config event without a readable snapshot; "
                    "recording the current config as a change", last.seq)
        return None


async def record_config(store: AuditStore, config: PorticoConfig, origin: ConfigOrigin,
                        now_ms: int) -> AuditEvent | None:
    """Append the config event unless the latest config event already has this fingerprint.

    Written straight to the store (not the write-behind journal) before the process serves, so
    the next process reads it; the event id makes concurrent writers idempotent."""
    last = await store.latest_audit(ACTOR, (APPLIED, CHANGED))
    event = config_event(config, origin, last, now_ms)
    if event is not None:
        await store.append_audit([event])
    return event


def rejected_event(origin: ConfigOrigin, error: ConfigError, now_ms: int) -> AuditEvent:
    """A reload refused because the new file did not validate; the old config keeps serving.
    The error names the setting's path; config errors never carry secret values."""
    return AuditEvent(
        event_id=f"config-rejected:{uuid.uuid4().hex}", ts_ms=now_ms, kind="admin",
        actor=ACTOR, action=REJECTED, target=origin.path,
        detail={"how": origin.how, "error_path": error.path, "error": str(error)})
