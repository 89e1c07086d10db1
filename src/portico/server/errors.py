"""Renders any error as the OpenAI error envelope with the right status and headers."""

from __future__ import annotations

import math

import msgspec
from starlette.responses import Response

from portico.errors import GatewayError


def error_response(err: GatewayError, request_id: str,
                   extra_headers: dict[str, str] | None = None) -> Response:
    headers = {"x-request-id": request_id}
    if err.retry_after is not None:
        headers["retry-after"] = str(max(1, math.ceil(err.retry_after)))
    if extra_headers:
        headers.update(extra_headers)
    return Response(msgspec.json.encode(err.envelope()), status_code=err.status,
                    headers=headers, media_type="application/json")
