"""Client routes besides chat: models, embeddings; and the health probes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from portico.errors import (
    GatewayError,
    GatewayUnavailable,
    InternalError,
    ModelNotFound,
)
from portico.pipeline.context import RequestContext
from portico.pipeline.embeddings import EmbeddingSizing
from portico.pipeline.hooks import Outcome
from portico.pipeline.model_access import model_access, require_model
from portico.schema.embeddings import EmbeddingRequest
from portico.schema.models import Model, ModelList
from portico.schema.response import Usage
from portico.server.body import decode, read_body
from portico.server.chat import route_headers
from portico.server.principal import Principal

if TYPE_CHECKING:
    from portico.server.gateway import Gateway

JSON = "application/json"


async def list_models(gw: Gateway, request: Request, principal: Principal) -> Response:
    access = await model_access(principal.key, gw.teams)
    names = [n for n in gw.catalog.model_names() if access.permits(n)]
    created = int(gw.clock.wall())
    models = ModelList(data=[Model(id=n, created=created, owned_by="portico") for n in names])
    return Response(msgspec.json.encode(models), media_type=JSON)


async def embeddings(gw: Gateway, request: Request, principal: Principal) -> Response:
    """The chat pipeline minus the after stage: limits, budget, PII and policy before the
    executor (which honours the policy's target filter), `finalize` always."""
    clock = gw.clock
    rid: str = request.state.request_id
    ctx = RequestContext(request_id=rid, started=clock.monotonic(),
                         ts_ms=int(clock.wall() * 1000), endpoint="embeddings",
                         headers=request.headers, key=principal.key,
                         is_master=principal.is_master)
    outcome = Outcome()
    try:
        body = await read_body(request, gw.config.server.max_body_bytes)
        req = decode(body, EmbeddingRequest, gw.config.server.max_json_depth)
        ctx.model_requested = req.model
        await require_model(principal.key, gw.teams, req.model)
        ctx.sizing = EmbeddingSizing(gw.prices, _targets(gw, req.model), req,
                                     ctx.ts_ms)
        for hook in gw.hooks:
            req = await hook.before_embeddings(ctx, req)
        screened = req
        result, lease = await gw.executor.run(
            ctx, req.model, lambda t, d, to: gw.dispatcher.embed(rid, t, to, screened))
        tokens = result.usage.prompt_tokens
        ctx.usage = Usage(prompt_tokens=tokens, completion_tokens=0, total_tokens=tokens)
        await lease.settle(ctx.usage, None)
        return Response(msgspec.json.encode(result), media_type=JSON,
                        headers=route_headers(ctx))
    except GatewayError as err:
        ctx.status, ctx.http_status, ctx.error_code = "error", err.status, err.code
        outcome = Outcome(error=err)
        raise
    except Exception:
        # The route wrapper logs it and answers 500; the ledger row must say so too.
        internal = InternalError("the gateway failed to process this request")
        ctx.status, ctx.http_status, ctx.error_code = "error", 500, internal.code
        outcome = Outcome(error=internal)
        raise
    finally:
        await gw.finalize(ctx, outcome)


def _targets(gw: Gateway, model: str) -> list[tuple[str, str]]:
    """(provider, upstream model) of each deployment that may serve `model`."""
    try:
        group = gw.catalog.resolve(model)
    except ModelNotFound:
        return []   # the executor answers 404
    return [(d.provider.spec.name, d.model) for d in group.deployments]


async def live(gw: Gateway, request: Request, principal: Principal) -> Response:
    return Response(b'{"status":"ok"}', media_type=JSON)


async def ready(gw: Gateway, request: Request, principal: Principal) -> Response:
    if not await gw.store.ping():
        raise GatewayUnavailable("the store is not reachable", code="store_unreachable")
    return Response(b'{"status":"ready"}', media_type=JSON)


