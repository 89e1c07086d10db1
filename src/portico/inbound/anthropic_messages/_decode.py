"""Decodes an inbound Anthropic request body with the OpenAI route's limits, and renders
validation failures as Anthropic-style messages (`messages.0.content.1.source: ...`)."""

from __future__ import annotations

import re

import msgspec

from portico.errors import InvalidRequest
from portico.inbound.anthropic_messages._wire import MessagesRequest
from portico.server.body import UPSTREAM_FIELDS, check_depth

# Fields that would pick an upstream account or workspace: configuration decides those.
FORBIDDEN_FIELDS = UPSTREAM_FIELDS | {"workspace_id"}
_DECODER = msgspec.json.Decoder(MessagesRequest)
_UNKNOWN = re.compile(r"unknown field `([^`]*)`")
_MISSING = re.compile(r"missing required field `([^`]*)`")
_INVALID_TAG = re.compile(r"Invalid value '([^']*)'")
_AT = re.compile(r" - at `\$\.?([^`]*)`$")
_INDEX = re.compile(r"\[(\d+)\]")


def anthropic_path(msgspec_path: str) -> str:
    """`messages[0].content[1]` (msgspec) as `messages.0.content.1` (Anthropic's error paths)."""
    return _INDEX.sub(r".\1", msgspec_path).lstrip(".")


def invalid(param: str | None, detail: str, *, code: str | None = None) -> InvalidRequest:
    """An InvalidRequest whose message leads with the path, as Anthropic's messages do."""
    message = f"{param}: {detail}" if param else detail
    return InvalidRequest(message, param=param, code=code)


def decode_request(body: bytes, max_depth: int) -> MessagesRequest:
    if not body:
        raise invalid(None, "request body is empty; expected a JSON object")
    check_depth(body, max_depth)
    try:
        return _DECODER.decode(body)
    except msgspec.ValidationError as exc:
        raise _validation_error(str(exc)) from exc
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise invalid(None, "request body is not valid UTF-8 JSON") from exc
    except RecursionError as exc:
        raise invalid(None, "JSON nesting too deep") from exc


def _join(path: str | None, name: str) -> str:
    return f"{path}.{name}" if path else name


def _validation_error(message: str) -> InvalidRequest:
    where = _AT.search(message)
    path = anthropic_path(where.group(1)) if where else None
    unknown = _UNKNOWN.search(message)
    if unknown:
        name = unknown.group(1)
        if name in FORBIDDEN_FIELDS and path is None:
            return invalid(name, "cannot be set by clients: upstreams and their credentials "
                           "come from the gateway's configuration", code="forbidden_parameter")
        return invalid(_join(path, name), "Extra inputs are not permitted",
                       code="unknown_parameter")
    missing = _MISSING.search(message)
    if missing:
        return invalid(_join(path, missing.group(1)), "Field required")
    tag = _INVALID_TAG.search(message)
    if tag and path is not None and path.endswith((".type", ".role")):
        kind = "role" if path.endswith(".role") else "type"
        return invalid(path, f"{kind} {tag.group(1)!r} is not supported by this gateway")
    return invalid(path, _AT.sub("", message))
