"""Gateway errors as Anthropic error bodies (https://docs.anthropic.com/en/api/errors).

`{"type":"error","error":{"type":...,"message":...},"request_id":...}`; the message comes from
`server.errors.client_envelope`, so redaction and the 5xx-text policy are the OpenAI route's.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import msgspec

from portico.errors import GatewayError
from portico.inbound.anthropic_messages._wire import ErrorObject, ErrorResponse
from portico.observability.redact import Redactor
from portico.server.errors import client_envelope

# Anthropic's error types by the HTTP status the gateway answers with.
_TYPE_BY_STATUS: Mapping[int, str] = MappingProxyType({
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    415: "invalid_request_error",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
})
# For envelopes that arrive without a status (stream error events): the gateway's error types.
_TYPE_BY_GATEWAY_TYPE: Mapping[str, str] = MappingProxyType({
    "invalid_request_error": "invalid_request_error",
    "authentication_error": "authentication_error",
    "permission_error": "permission_error",
    "not_found_error": "not_found_error",
    "rate_limit_error": "rate_limit_error",
    "insufficient_quota": "rate_limit_error",
    "service_unavailable": "overloaded_error",
    "timeout": "timeout_error",
    "upstream_error": "api_error",
    "api_error": "api_error",
})
Envelope = Mapping[str, Mapping[str, str | None]]
_ENCODER = msgspec.json.Encoder()


def anthropic_error_type(status: int | None, gateway_type: str | None = None) -> str:
    """The Anthropic error type: by status when known, else by the gateway's type string."""
    if status is not None:
        mapped = _TYPE_BY_STATUS.get(status)
        if mapped is not None:
            return mapped
        if 400 <= status < 500:
            return "invalid_request_error"
    return _TYPE_BY_GATEWAY_TYPE.get(gateway_type or "", "api_error")


def from_envelope(envelope: Envelope, *, status: int | None = None,
                  request_id: str | None = None) -> ErrorResponse:
    """An already-redacted `client_envelope` dict in Anthropic's shape."""
    body = envelope.get("error", {})
    return ErrorResponse(
        error=ErrorObject(type=anthropic_error_type(status, body.get("type")),
                          message=body.get("message") or ""),
        request_id=request_id or body.get("request_id"),
    )


def error_body(err: GatewayError, request_id: str, redactor: Redactor | None = None) -> bytes:
    """The JSON body for an error response on the Anthropic route (status: `err.status`)."""
    envelope = client_envelope(err, redactor, request_id)
    return _ENCODER.encode(from_envelope(envelope, status=err.status, request_id=request_id))
