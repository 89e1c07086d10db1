"""OpenAI error envelopes (HTTP and in-band stream errors) mapped to typed gateway errors.

Reference: https://platform.openai.com/docs/guides/error-codes. Decisions use the HTTP status
and the `code`/`type` fields, never the message text.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import msgspec

from portico.adapters._errors import error_for_status, parse_retry_after
from portico.adapters.base import UpstreamResponse
from portico.adapters.dialects.openai_chat._wire import WireErrorBody, WireErrorEnvelope
from portico.errors import UpstreamError

_CONTEXT_CODES = frozenset({"context_length_exceeded", "string_above_max_length"})

# In-band stream errors carry no HTTP status; their type or code stands in for it.
_INBAND_STATUS: Mapping[str, int] = MappingProxyType({
    "invalid_request_error": 400,
    "context_length_exceeded": 400,
    "authentication_error": 401,
    "invalid_api_key": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "rate_limit_exceeded": 429,
    "rate_limit_error": 429,
    "insufficient_quota": 429,
    "tokens": 429,
    "requests": 429,
    "server_error": 500,
    "api_error": 500,
    "overloaded_error": 529,
    "timeout": 408,
})
_DECODER = msgspec.json.Decoder(WireErrorEnvelope)


def decode_error_body(body: bytes) -> WireErrorBody | None:
    """The `error` object of an OpenAI envelope; None for HTML, truncated or foreign bodies."""
    try:
        envelope = _DECODER.decode(body)
    except msgspec.DecodeError:
        return None
    if isinstance(envelope.error, str):
        return WireErrorBody(message=envelope.error)
    return envelope.error


def _code_str(err: WireErrorBody | None) -> str | None:
    if err is None or err.code is None:
        return None
    return str(err.code)


def error_from_body(
    status: int, err: WireErrorBody | None, headers: Mapping[str, str]
) -> UpstreamError:
    code = _code_str(err)
    message = (err.message if err else None) or ""
    return error_for_status(
        status,
        message,
        code=code,
        param=err.param if err else None,
        retry_after=parse_retry_after(headers),
        context_length=code in _CONTEXT_CODES,
    )


def map_http_error(resp: UpstreamResponse) -> UpstreamError:
    """The typed error for a non-2xx upstream response, whatever its body looks like."""
    return error_from_body(resp.status, decode_error_body(resp.body), resp.headers)


def inband_status(err: WireErrorBody) -> int:
    """The HTTP status an in-band stream error stands for (a numeric code is taken as is)."""
    if isinstance(err.code, int) and 400 <= err.code < 600:
        return err.code
    for key in (_code_str(err), err.type):
        if key is not None and key in _INBAND_STATUS:
            return _INBAND_STATUS[key]
    return 500


def map_inband_error(err: WireErrorBody) -> UpstreamError:
    return error_from_body(inband_status(err), err, {})
