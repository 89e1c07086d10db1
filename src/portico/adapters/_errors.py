"""Shared error mapping for every dialect: status table, Retry-After parsing, sanitizing.

Dialects decode their own error bodies (typed) and then call `error_for_status`, so the
status → action table lives in one place. Decisions use status and provider codes, never
message text.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

from portico import errors as e
from portico.observability.redact import client_safe_message

MAX_MESSAGE = 400
# Shapes of provider keys and bearer tokens that must never be echoed to a client.
_SECRET_SHAPES = re.compile(
    r"(sk-[A-Za-z0-9_\-]{8,}|sk-ant-[A-Za-z0-9_\-]{8,}|AIza[0-9A-Za-z_\-]{20,}"
    r"|gsk_[A-Za-z0-9]{8,}|Bearer\s+[A-Za-z0-9._\-]{8,}|pk_[A-Za-z0-9_\-]{8,})"
)


def sanitize_message(message: str) -> str:
    """A provider message made safe to show: secrets and credential headers masked, markup
    and stack traces dropped, length capped (one policy with the logs' redaction)."""
    return client_safe_message(_SECRET_SHAPES.sub("[redacted]", message), MAX_MESSAGE)


def _response_now(headers: Mapping[str, str]) -> float:
    # Measure HTTP-date Retry-After against the upstream's own Date header when present, so
    # clock skew between us and the provider does not distort the wait.
    date = headers.get("date")
    if date:
        try:
            return parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError, IndexError):
            pass
    return time.time()


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from `retry-after-ms`, `retry-after` (seconds or HTTP-date); else None."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            value = float(ms) / 1000.0
        except ValueError:
            value = -1.0
        if value >= 0:
            return value
    raw = headers.get("retry-after")
    if not raw:
        return None
    raw = raw.strip()
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = parsedate_to_datetime(raw).timestamp()
        except (TypeError, ValueError, IndexError):
            return None
        return max(0.0, when - _response_now(headers))
    return seconds if seconds >= 0 else None


def error_for_status(
    status: int,
    message: str,
    *,
    code: str | None = None,
    param: str | None = None,
    retry_after: float | None = None,
    context_length: bool = False,
) -> e.UpstreamError:
    """The typed error for an upstream HTTP status (the policy table of the README)."""
    msg = sanitize_message(message) or f"upstream returned HTTP {status}"
    if context_length:
        return e.UpstreamContextLength(msg, param=param or "messages", upstream_status=status)
    if status == 408:
        return e.UpstreamTimeout(msg, upstream_status=status)
    if status == 429:
        return e.UpstreamRateLimited(msg, retry_after=retry_after, upstream_status=status)
    if status in (401, 403):
        return e.UpstreamAuthError(
            "the upstream rejected the gateway's credentials for this deployment",
            upstream_status=status,
        )
    if 400 <= status < 500:
        return e.UpstreamBadRequest(msg, param=param, code=code, upstream_status=status)
    if status >= 500:  # 500, 502, 503, 504 and vendor codes such as Anthropic's 529
        return e.UpstreamUnavailable(msg, retry_after=retry_after, upstream_status=status)
    return e.UpstreamBadResponse(f"unexpected upstream status {status}", upstream_status=status)
