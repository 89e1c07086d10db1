"""Gemini error bodies -> typed gateway errors.

Body: `{"error": {"code", "message", "status", "details": [...]}}` (google.rpc.Status,
https://ai.google.dev/gemini-api/docs/troubleshooting). A 429 carries its wait in a
`google.rpc.RetryInfo` detail (`retryDelay: "13s"`), not a Retry-After header; an invalid key
is a 400 with an `ErrorInfo` reason, not a 401.
"""

from __future__ import annotations

import re

import msgspec

from portico.adapters._errors import error_for_status, parse_retry_after
from portico.adapters.base import UpstreamResponse
from portico.adapters.dialects.gemini import _wire as w
from portico.errors import UpstreamError

# google.rpc.Code names -> the HTTP status the REST gateway pairs them with.
_STATUS_HTTP = {
    "INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 400, "OUT_OF_RANGE": 400,
    "UNAUTHENTICATED": 401, "PERMISSION_DENIED": 403, "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409, "ABORTED": 409, "RESOURCE_EXHAUSTED": 429, "CANCELLED": 499,
    "INTERNAL": 500, "UNKNOWN": 500, "DATA_LOSS": 500, "UNIMPLEMENTED": 501,
    "UNAVAILABLE": 503, "DEADLINE_EXCEEDED": 504,
}
_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
_ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
# ErrorInfo reasons that mean the gateway's key is bad, whatever the HTTP status says.
_KEY_REASONS = frozenset({"API_KEY_INVALID", "API_KEY_SERVICE_BLOCKED", "API_KEY_EXPIRED"})
# Gemini gives no structured signal for an over-long prompt, only this INVALID_ARGUMENT text
# ("The input token count (N) exceeds the maximum number of tokens allowed (M)."). It is the
# one place this dialect reads message text.
_CONTEXT_LENGTH_TEXT = re.compile(r"input token count.*exceeds the maximum", re.IGNORECASE)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?)s\s*$")
_DECODER = msgspec.json.Decoder(w.ErrorEnvelope | list[w.ErrorEnvelope])


def parse_duration(value: str | None) -> float | None:
    """Seconds in a protobuf Duration string ("13s", "1.5s"); None if absent or malformed."""
    if not value:
        return None
    m = _DURATION.match(value)
    return float(m.group(1)) if m else None


def decode_status(body: bytes) -> w.Status | None:
    """The google.rpc.Status of an error body (object, or the array form), if it is one."""
    try:
        decoded: w.ErrorEnvelope | list[w.ErrorEnvelope] = _DECODER.decode(body)
    except msgspec.DecodeError:
        return None
    if isinstance(decoded, list):
        return decoded[0].error if decoded else None
    return decoded.error


def error_from_status(status: w.Status, http_status: int,
                      retry_after: float | None = None) -> UpstreamError:
    """The typed error for a decoded Status (also used for in-band stream errors)."""
    # The HTTP status decides when there is one; an in-band stream error (sent under HTTP 200)
    # falls back to the Status name, then its numeric code.
    http = http_status
    if not 400 <= http < 600:
        http = _STATUS_HTTP.get(status.status) or status.code or 502
    if retry_after is None:
        retry_after = next((parse_duration(d.retry_delay) for d in status.details
                            if d.type == _RETRY_INFO and d.retry_delay), None)
    if any(d.type == _ERROR_INFO and d.reason in _KEY_REASONS for d in status.details):
        http = 401
    context = http == 400 and bool(_CONTEXT_LENGTH_TEXT.search(status.message))
    return error_for_status(http, status.message, code=status.status or None,
                            retry_after=retry_after, context_length=context)


def map_error(resp: UpstreamResponse) -> UpstreamError:
    retry_after = parse_retry_after(resp.headers)
    status = decode_status(resp.body)
    if status is None:
        text = resp.body.decode("utf-8", "replace")
        return error_for_status(resp.status, text, retry_after=retry_after)
    return error_from_status(status, resp.status, retry_after)
