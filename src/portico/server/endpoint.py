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
            return await spec.handler(gw, request, principal)
        except GatewayError as err:
            return error_response(err, rid)
        except Exception:
            log.exception("unhandled error on %s %s (%s)", request.method, spec.path, rid)
            return error_response(InternalError("the gateway failed to process this request"),
                                  rid)

    endpoint.__name__ = spec.handler.__name__
    return endpoint
