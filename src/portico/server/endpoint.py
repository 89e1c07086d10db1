"""Wraps route handlers: authenticate per the route's declared permission, render errors."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from portico.errors import GatewayError, InternalError
from portico.server.errors import error_response
from portico.server.principal import Permission, Principal, authenticate

if TYPE_CHECKING:
    from portico.server.gateway import Gateway

log = logging.getLogger("portico.server")
Handler = Callable[["Gateway", Request, Principal], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class RouteSpec:
    path: str
    methods: tuple[str, ...]
    permission: Permission
    handler: Handler
    summary: str


def wrap(gw: Gateway, spec: RouteSpec) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        rid: str = request.state.request_id
        try:
            principal = await authenticate(request, gw.keys, spec.permission)
            response = await spec.handler(gw, request, principal)
        except GatewayError as err:
            response = error_response(err, rid, redactor=gw.redactor)
        except Exception:
            log.exception("unhandled error on %s %s (%s)", request.method, spec.path, rid)
            response = error_response(
                InternalError("the gateway failed to process this request"), rid,
                redactor=gw.redactor)
        # The route template, never the concrete path: key ids stay out of metric labels.
        gw.metrics.observe_http(spec.path, request.method, response.status_code)
        return response

    endpoint.__name__ = spec.handler.__name__
    return endpoint
