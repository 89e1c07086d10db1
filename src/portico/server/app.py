"""The ASGI app factory: routes with declared permissions, lifespan that builds the gateway."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from portico.config.model import PorticoConfig
from portico.errors import GatewayError, InvalidRequest, NotFound
from portico.observability.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from portico.server import routes_admin as admin
from portico.server import routes_privacy as privacy
from portico.server import routes_public as public
from portico.server import routes_teams as teams
from portico.server.chat import ChatHandler
from portico.server.config_audit import ConfigOrigin, record_config
from portico.server.endpoint import RouteSpec, wrap
from portico.server.errors import error_response
from portico.server.gateway import Gateway, build_gateway
from portico.server.messages import AnthropicFormat
from portico.server.openapi import openapi_document
from portico.server.principal import Permission, Principal
from portico.server.request_id import RequestIdMiddleware, RequestIds

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send


async def _chat_placeholder(gw: Gateway, request: Request, principal: Principal) -> Response:
    raise InvalidRequest("handled by ChatHandler")  # pragma: no cover - never routed


def route_table(*, metrics_public: bool = False) -> tuple[RouteSpec, ...]:
    """Every route and the permission it needs; a test fails on a route missing here."""
    P, C, A = Permission.PUBLIC, Permission.CLIENT, Permission.ADMIN
    return (
        RouteSpec("/v1/chat/completions", ("POST",), C, _chat_placeholder,
                  "Create a chat completion (OpenAI format), streaming or not"),
        RouteSpec("/v1/messages", ("POST",), C, _chat_placeholder,
                  "Create a message (Anthropic Messages format), streaming or not"),
        RouteSpec("/v1/embeddings", ("POST",), C, public.embeddings, "Create embeddings"),
        RouteSpec("/v1/models", ("GET",), C, public.list_models, "Models this key may use"),
        RouteSpec("/health/live", ("GET",), P, public.live, "Liveness probe"),
        RouteSpec("/health/ready", ("GET",), P, public.ready, "Readiness: store reachable"),
        RouteSpec("/admin/keys", ("POST",), A, admin.create_key, "Create a virtual key"),
        RouteSpec("/admin/keys", ("GET",), A, admin.list_keys, "List virtual keys"),
        RouteSpec("/admin/keys/{key_id}", ("GET",), A, admin.key_info, "Show a virtual key"),
        RouteSpec("/admin/keys/{key_id}", ("DELETE",), A, admin.revoke_key,
                  "Revoke a virtual key"),
        RouteSpec("/admin/breakers", ("GET",), A, admin.breakers, "Circuit breaker states"),
        RouteSpec("/admin/teams", ("POST",), A, teams.create_team, "Create a team"),
        RouteSpec("/admin/teams", ("GET",), A, teams.list_teams,
                  "List teams (stored and configured; archived with include_archived=true)"),
        RouteSpec("/admin/teams/{name}", ("GET",), A, teams.show_team,
                  "Show a team: stored and effective settings"),
        RouteSpec("/admin/teams/{name}", ("PATCH",), A, teams.update_team,
                  "Change a team's stored settings (merge patch)"),
        RouteSpec("/admin/teams/{name}", ("DELETE",), A, teams.archive_team,
                  "Archive a team: its keys are refused from then on"),
        RouteSpec("/v1/usage", ("GET",), C, admin.usage,
                  "Ledger rows (a virtual key sees only its own)"),
        RouteSpec("/v1/spend", ("GET",), C, admin.spend,
                  "Spend report (a virtual key sees only its own)"),
        RouteSpec("/v1/audit", ("GET",), C, admin.audit_list,
                  "Audit events (a virtual key sees only its own)"),
        RouteSpec("/admin/audit/verify", ("GET",), A, admin.audit_verify,
                  "Verify the audit hash chain"),
        RouteSpec("/admin/overprompting", ("GET",), A, admin.overprompting,
                  "Input share per key and model; keys that stay above 80% are flagged"),
        RouteSpec("/admin/audit/scan", ("POST",), A, privacy.audit_scan,
                  "Scan audit events, captured content and logs for leaked PII and keys"),
        RouteSpec("/openapi.json", ("GET",), P, _openapi, "This API's OpenAPI document"),
        RouteSpec("/metrics", ("GET",), P if metrics_public else A, _metrics,
                  "Prometheus metrics (admin unless server.metrics_public)"),
    )


async def _openapi(gw: Gateway, request: Request, principal: Principal) -> Response:
    routes = route_table(metrics_public=gw.config.server.metrics_public)
    return Response(openapi_document(routes), media_type="application/json")


async def _metrics(gw: Gateway, request: Request, principal: Principal) -> Response:
    return Response(gw.metrics.render(), media_type=METRICS_CONTENT_TYPE)


def create_app(config: PorticoConfig, *, gateway: Gateway | None = None,
               origin: ConfigOrigin | None = None) -> ASGIApp:
    """The app; the gateway is built at startup unless one is handed in (tests). With an
    `origin` (`portico serve`), a config that differs from the last audited one is audited."""
    fast = ChatFastPath()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        gw = gateway or await build_gateway(config)
        try:
            if origin is not None:
                await record_config(gw.store, gw.config, origin, int(gw.clock.wall() * 1000))
            fast.chat = Route("/v1/chat/completions", _mount(app, gw).__call__).app
            yield
        finally:
            if gateway is None:
                await gw.close()

    async def not_found(request: Request, exc: Exception) -> Response:
        rid: str = getattr(request.state, "request_id", "")
        return error_response(NotFound(f"no route {request.method} {request.url.path}"), rid)

    async def method_not_allowed(request: Request, exc: Exception) -> Response:
        rid: str = getattr(request.state, "request_id", "")
        err = GatewayErrorMethod(f"method {request.method} not allowed here")
        return error_response(err, rid)

    app = Starlette(lifespan=lifespan,
                    exception_handlers={404: not_found, 405: method_not_allowed})
    middleware = RequestIdMiddleware(app)
    fast.app, fast.ids = middleware, middleware.ids
    return fast


class ChatFastPath:
    """Sends POST /v1/chat/completions straight to its handler: the router's regex walk over
    every route was 16% of the hot path's CPU samples (docs/benchmarks.md). It also skips the
    request-id middleware's send wrapper (a call per SSE event): every chat response already
    carries x-request-id (route headers, error responses, the stream's first headers)."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None
        self.chat: ASGIApp | None = None
        self.ids: RequestIds | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (self.chat is not None and self.ids is not None and scope["type"] == "http"
                and scope["path"] == "/v1/chat/completions" and scope["method"] == "POST"):
            scope.setdefault("state", {})["request_id"] = self.ids.next()
            await self.chat(scope, receive, send)
            return
        assert self.app is not None
        await self.app(scope, receive, send)


class GatewayErrorMethod(GatewayError):
    status = 405
    type = "invalid_request_error"
    default_code = "method_not_allowed"


def _mount(app: Starlette, gw: Gateway) -> ChatHandler:
    chat = ChatHandler(gw)
    pipelines = {"/v1/chat/completions": chat.__call__,
                 "/v1/messages": ChatHandler(gw, AnthropicFormat()).__call__}
    routes: list[Route] = []
    for spec in route_table(metrics_public=gw.config.server.metrics_public):
        endpoint = pipelines.get(spec.path) or wrap(gw, spec)
        routes.append(Route(spec.path, endpoint, methods=list(spec.methods)))
    app.router.routes.extend(routes)
    return chat
