"""Renders any error as the OpenAI error envelope with the right status and headers.

Every message passes a last redaction here (known secrets, key shapes, credential headers);
an upstream 5xx body never reaches the client, only its status.
"""

from __future__ import annotations

import math

import msgspec
from starlette.responses import Response

from portico.errors import AllTargetsFailed, GatewayError, UpstreamUnavailable
from portico.observability.redact import Redactor, scrub_shapes


def _scrub(text: str | None, redactor: Redactor | None) -> str | None:
    if text is None:
        return None
    return redactor.scrub_secrets(text) if redactor is not None else scrub_shapes(text)


def client_envelope(err: GatewayError, redactor: Redactor | None = None,
                    request_id: str | None = None) -> dict[str, dict[str, str | None]]:
    """The envelope a client may see: provider 5xx text is replaced (it may echo headers,
    prompts or stack traces), everything else is redacted once more."""
    root = err.last if isinstance(err, AllTargetsFailed) else err
    message = err.message
    if isinstance(root, UpstreamUnavailable):
        status = root.upstream_status
        message = (f"the upstream provider failed (HTTP {status})" if status
                   else "the upstream provider is unavailable")
    body: dict[str, str | None] = {
        "message": _scrub(message, redactor) or "",
        "type": err.type,
        "param": _scrub(err.param, redactor),
        "code": _scrub(err.code, redactor),
    }
    if request_id:
        # Also in the x-request-id header; in the body it survives logging of bodies alone.
        body["request_id"] = request_id
    return {"error": body}


def error_response(err: GatewayError, request_id: str,
                   extra_headers: dict[str, str] | None = None,
                   redactor: Redactor | None = None) -> Response:
    headers = {"x-request-id": request_id}
    if err.retry_after is not None:
        headers["retry-after"] = str(max(1, math.ceil(err.retry_after)))
    if extra_headers:
        headers.update(extra_headers)
    return Response(msgspec.json.encode(client_envelope(err, redactor, request_id)),
                    status_code=err.status, headers=headers, media_type="application/json")
