"""Portico's own OpenAPI 3.1 document, generated from the route table and the msgspec types."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from portico import __version__
from portico.schema.chat import ChatRequest
from portico.schema.embeddings import EmbeddingRequest, EmbeddingResponse
from portico.schema.models import ModelList
from portico.schema.response import ChatResponse
from portico.server.principal import Permission

if TYPE_CHECKING:
    from portico.server.endpoint import RouteSpec

REF = "#/components/schemas/{name}"


class ErrorBody(msgspec.Struct):
    message: str
    type: str
    param: str | None
    code: str | None
    request_id: str | None = None


class ErrorEnvelope(msgspec.Struct):
    error: ErrorBody


class AnthropicErrorBody(msgspec.Struct):
    type: str
    message: str


class AnthropicErrorEnvelope(msgspec.Struct):
    """Errors on /v1/messages take Anthropic's shape, as its SDK expects."""

    error: AnthropicErrorBody
    type: str = "error"
    request_id: str | None = None


# Routes whose errors are not in OpenAI's envelope.
_ERRORS: dict[str, type] = {"/v1/messages": AnthropicErrorEnvelope}


_BODIES: dict[str, type] = {"/v1/chat/completions": ChatRequest,
                            "/v1/embeddings": EmbeddingRequest}
# Routes answering in text (the Prometheus exposition format).
_TEXT_ROUTES = frozenset({"/metrics"})
_RESPONSES: dict[str, type] = {"/v1/chat/completions": ChatResponse,
                               "/v1/embeddings": EmbeddingResponse, "/v1/models": ModelList}


def _operation(spec: RouteSpec, method: str, refs: dict[type, dict[str, Any]]
               ) -> dict[str, Any]:
    err = {"description": "Error", "content": {"application/json": {
        "schema": refs[_ERRORS.get(spec.path, ErrorEnvelope)]}}}
    ok_schema: dict[str, Any] = refs.get(_RESPONSES.get(spec.path, dict), {"type": "object"})
    op: dict[str, Any] = {
        "summary": spec.summary,
        "operationId": f"{method.lower()}_{spec.handler.__name__}".strip("_"),
        "responses": {"200": {"description": "OK",
                              "content": {"application/json": {"schema": ok_schema}}},
                      "default": err},
    }
    if spec.path in ("/v1/chat/completions", "/v1/messages"):
        op["responses"]["200"]["content"]["text/event-stream"] = {"schema": {"type": "string"}}
    if spec.path in _TEXT_ROUTES:
        op["responses"]["200"]["content"] = {"text/plain": {"schema": {"type": "string"}}}
    if spec.permission is not Permission.PUBLIC:
        op["security"] = [{"bearer": []}]
    params = [seg[1:-1] for seg in spec.path.split("/") if seg.startswith("{")]
    if params:
        op["parameters"] = [{"name": p, "in": "path", "required": True,
                             "schema": {"type": "string"}} for p in params]
    body = _BODIES.get(spec.path)
    if body is not None and method == "POST":
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": refs[body]}}}
    elif method == "POST":
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": {"type": "object"}}}}
    return op


@functools.cache
def _components() -> tuple[dict[type, dict[str, Any]], dict[str, Any]]:
    types = [ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, ModelList,
             ErrorEnvelope, AnthropicErrorEnvelope]
    schemas, components = msgspec.json.schema_components(types, ref_template=REF)
    return dict(zip(types, schemas, strict=True)), components


def openapi_document(routes: Sequence[RouteSpec]) -> bytes:
    refs, components = _components()
    paths: dict[str, dict[str, Any]] = {}
    for spec in routes:
        for method in spec.methods:
            paths.setdefault(spec.path, {})[method.lower()] = _operation(spec, method, refs)
    doc = {
        "openapi": "3.1.0",
        "info": {"title": "Portico", "version": __version__},
        "paths": paths,
        "components": {"schemas": components,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
    return msgspec.json.encode(doc)
