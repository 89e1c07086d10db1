"""Canonical ChatRequest → OpenAI chat completions request for one target.

Reference: https://platform.openai.com/docs/api-reference/chat/create. Vendor differences
(paths, field names, rejected fields, stream usage) come from the ProviderSpec as data.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

import msgspec

from portico.adapters._auth import join_url, upstream_headers
from portico.adapters.base import ProviderSpec, Target, UpstreamRequest
from portico.schema.chat import ChatRequest, StreamOptions

_ENCODER = msgspec.json.Encoder()


def upstream_url(target: Target, path: str) -> str:
    """Base URL + the spec's path ({model} filled in) + the api-version query when any."""
    url = join_url(target.base_url, path.replace("{model}", quote(target.model, safe="")))
    version = target.api_version or target.provider.api_version
    if version:
        sep = "&" if "?" in url else "?"
        url = f"{url}{sep}{urlencode({'api-version': version})}"
    return url


def _stream_options(req: ChatRequest, spec: ProviderSpec) -> StreamOptions | None:
    if not req.wants_stream or not spec.stream_usage:
        return None
    # The ledger needs real usage, so it is always requested; the gateway decides later
    # whether the client sees the usage chunk.
    current = req.stream_options or StreamOptions()
    return msgspec.structs.replace(current, include_usage=True)


def _reshape(body: dict[str, object], spec: ProviderSpec) -> dict[str, object]:
    for name in spec.dropped_fields:
        body.pop(name, None)
    for canonical, upstream in spec.field_renames:
        if canonical in body:
            body[upstream] = body.pop(canonical)
    return body


def encode_chat_body(req: ChatRequest, target: Target) -> bytes:
    """The upstream JSON body: unset fields omitted, model set to the target's own name."""
    spec = target.provider
    fixed = msgspec.structs.replace(
        req,
        model=target.model,
        stream=True if req.wants_stream else None,
        stream_options=_stream_options(req, spec),
    )
    if not spec.dropped_fields and not spec.field_renames:
        return _ENCODER.encode(fixed)
    # A rename such as max_completion_tokens → max_tokens must win over a client-sent
    # max_tokens, matching ChatRequest.output_cap, so renames apply after the pop.
    return _ENCODER.encode(_reshape(msgspec.to_builtins(fixed), spec))


def translate_chat(req: ChatRequest, target: Target) -> UpstreamRequest:
    return UpstreamRequest(
        method="POST",
        url=upstream_url(target, target.provider.chat_path),
        headers=upstream_headers(target),
        body=encode_chat_body(req, target),
        stream=req.wants_stream,
    )
