"""Reads and decodes request bodies with hard limits: size (413), nesting depth, UTF-8, types.

Decoding failures become InvalidRequest with the offending field as `param`, so clients get
an OpenAI-style 400 rather than a 500.
"""

from __future__ import annotations

import re
from typing import TypeVar

import msgspec
from starlette.requests import ClientDisconnect, Request

from portico.errors import InvalidRequest, PayloadTooLarge

T = TypeVar("T")

# Fields some SDKs and proxies accept for choosing an upstream; here configuration decides.
UPSTREAM_FIELDS = frozenset({
    "api_base", "base_url", "api_key", "api_version", "azure_endpoint", "custom_llm_provider",
    "organization", "aws_access_key_id", "aws_secret_access_key", "vertex_credentials",
    "deployment_id", "proxy", "headers", "extra_headers",
})
_UNKNOWN = re.compile(r"unknown field `([^`]*)`")
_AT = re.compile(r" - at `\$\.?([^`]*)`$")
_TOKENS = re.compile(rb'[\[\]{}"\\]')


class UnsupportedMediaType(InvalidRequest):
    status = 415
    default_code = "unsupported_media_type"


def check_content_type(request: Request) -> None:
    """JSON bodies only; a missing Content-Type is read as JSON (curl -d with -H is common)."""
    types = request.headers.getlist("content-type")
    if len(types) > 1:
        raise InvalidRequest("more than one Content-Type header was sent")
    if not types:
        return
    media = types[0].split(";", 1)[0].strip().lower()
    if media != "application/json" and not (media.startswith("application/")
                                            and media.endswith("+json")):
        raise UnsupportedMediaType(
            f"Content-Type {media or '(empty)'!r} is not supported; send application/json")


async def read_body(request: Request, limit: int) -> bytes:
    check_content_type(request)
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise InvalidRequest("invalid Content-Length header")
        if int(declared) > limit:
            raise PayloadTooLarge(f"request body exceeds {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"request body exceeds {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect as exc:
        raise InvalidRequest("the client closed the connection mid-body") from exc
    return b"".join(chunks)


def check_depth(body: bytes, max_depth: int) -> None:
    """Reject JSON nested deeper than `max_depth`; cheap unless the body has many brackets."""
    if body.count(b"{") + body.count(b"[") <= max_depth:
        return
    depth = 0
    in_string = False
    escaped = False
    for m in _TOKENS.finditer(body):
        ch = m.group()
        if in_string:
            if escaped:
                escaped = False
            elif ch == b"\\":
                # An escaped quote or backslash is the very next token: skip it.
                pos = m.start()
                escaped = body[pos + 1:pos + 2] in (b'"', b"\\")
            elif ch == b'"':
                in_string = False
            continue
        if ch == b'"':
            in_string = True
        elif ch in (b"{", b"["):
            depth += 1
            if depth > max_depth:
                raise InvalidRequest(f"JSON nesting deeper than {max_depth} levels")
        elif ch in (b"}", b"]"):
            depth -= 1


def decode(body: bytes, typ: type[T], max_depth: int) -> T:
    if not body:
        raise InvalidRequest("request body is empty; expected a JSON object")
    check_depth(body, max_depth)
    try:
        return msgspec.json.decode(body, type=typ)
    except msgspec.ValidationError as exc:
        raise _validation_error(str(exc)) from exc
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise InvalidRequest("request body is not valid UTF-8 JSON") from exc
    except RecursionError as exc:
        raise InvalidRequest("JSON nesting too deep") from exc


def _validation_error(message: str) -> InvalidRequest:
    unknown = _UNKNOWN.search(message)
    where = _AT.search(message)
    path = where.group(1) if where else None
    if unknown:
        name = unknown.group(1)
        field = f"{path}.{name}" if path else name
        if name in UPSTREAM_FIELDS:
            return InvalidRequest(
                f"`{name}` cannot be set by clients: upstreams and their credentials come "
                "from the gateway's configuration", param=field, code="forbidden_parameter")
        return InvalidRequest(f"Unrecognized request argument supplied: {name}", param=field,
                              code="unknown_parameter")
    detail = _AT.sub("", message)
    return InvalidRequest(f"Invalid request: {detail}", param=path or None)
