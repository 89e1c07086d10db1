"""The shape of captured request content in the audit log (opt-in `audit.capture_content`).

Written by the PII stage as its own audit event (`<endpoint>.content`), next to the request's
event; only masked text is ever stored. The leak scanner reads it back with the same types.
"""

from __future__ import annotations

import msgspec

from portico.store.records import AuditEvent, PiiMode

CONTENT_SUFFIX = ".content"


class CapturedMessage(msgspec.Struct, kw_only=True):
    role: str
    text: str


class CapturedContent(msgspec.Struct, kw_only=True):
    request_id: str
    pii_mode: PiiMode
    masked: bool = True
    messages: list[CapturedMessage] = []
    response: str = ""


def is_content_event(event: AuditEvent) -> bool:
    return event.action.endswith(CONTENT_SUFFIX)


def read_content(event: AuditEvent) -> CapturedContent | None:
    """The captured content an event holds, or None (not a content event, or malformed)."""
    if not is_content_event(event):
        return None
    try:
        return msgspec.convert(event.detail, CapturedContent)
    except msgspec.ValidationError:
        return None
