"""Anthropic error bodies and in-stream error events to typed gateway errors.

Body shape: `{"type":"error","error":{"type":...,"message":...},"request_id":...}`
(https://docs.anthropic.com/en/api/errors). The status table lives in adapters/_errors.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import msgspec

from portico.adapters._errors import error_for_status, parse_retry_after
from portico.adapters.base import UpstreamResponse
from portico.adapters.dialects.anthropic_messages._wire import ErrorObject, ErrorResponse
from portico.errors import UpstreamError

# Anthropic gives no structured code for an over-long prompt: a 400 invalid_request_error whose
# message reads "prompt is too long: N tokens > M maximum". This constant is the one place the
# dialect reads message text, and only under that status and error type.
PROMPT_TOO_LONG_TEXT = "prompt is too long"

# In-stream error events carry no HTTP status; the status Anthropic uses for each error type.
_STATUS_BY_TYPE: Mapping[str, int] = MappingProxyType({
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
})

_DECODER = msgspec.json.Decoder(ErrorResponse)


def _is_context_length(status: int, err: ErrorObject) -> bool:
    return (
        status == 400
        and err.type == "invalid_request_error"
        and PROMPT_TOO_LONG_TEXT in err.message.lower()
    )


def decode_error_body(body: bytes) -> ErrorObject | None:
    """The typed error object, or None when the body is not Anthropic's error JSON."""
    try:
        return _DECODER.decode(body).error
    except msgspec.DecodeError:
        return None


def map_http_error(resp: UpstreamResponse) -> UpstreamError:
    err = decode_error_body(resp.body)
    if err is None:
        # HTML pages, truncated JSON: the status alone decides; the text is sanitized later.
        message = resp.body[:2000].decode("utf-8", "replace")
        return error_for_status(resp.status, message, retry_after=parse_retry_after(resp.headers))
    return error_for_status(
        resp.status,
        err.message,
        code=err.type,
        retry_after=parse_retry_after(resp.headers),
        context_length=_is_context_length(resp.status, err),
    )


def status_for_type(error_type: str) -> int:
    return _STATUS_BY_TYPE.get(error_type, 500)


def map_stream_error(err: ErrorObject) -> UpstreamError:
    """An `event: error` received mid-stream (e.g. overloaded_error) as a typed error."""
    status = status_for_type(err.type)
    return error_for_status(
        status, err.message, code=err.type, context_length=_is_context_length(status, err)
    )
