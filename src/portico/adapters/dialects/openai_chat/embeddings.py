"""Canonical embeddings ↔ OpenAI `/embeddings` (float and base64 encodings).

Reference: https://platform.openai.com/docs/api-reference/embeddings
"""

from __future__ import annotations

import msgspec

from portico.adapters._auth import upstream_headers
from portico.adapters.base import Target, UpstreamRequest, UpstreamResponse
from portico.adapters.dialects.openai_chat.request import upstream_url
from portico.adapters.dialects.openai_chat.response import bad_response
from portico.schema.embeddings import (
    Embedding,
    EmbeddingRequest,
    EmbeddingResponse,
    EmbeddingUsage,
)

_ENCODER = msgspec.json.Encoder()


class _WireEmbedding(msgspec.Struct):
    embedding: list[float] | str
    index: int | None = None


class _WireUsage(msgspec.Struct):
    prompt_tokens: int | None = None
    total_tokens: int | None = None


class _WireEmbeddings(msgspec.Struct):
    data: list[_WireEmbedding]
    model: str | None = None
    usage: _WireUsage | None = None


_DECODER = msgspec.json.Decoder(_WireEmbeddings)


def translate_embeddings(req: EmbeddingRequest, target: Target) -> UpstreamRequest:
    body = msgspec.structs.replace(req, model=target.model)
    return UpstreamRequest(
        method="POST",
        url=upstream_url(target, target.provider.embeddings_path),
        headers=upstream_headers(target),
        body=_ENCODER.encode(body),
    )


def parse_embeddings(resp: UpstreamResponse, target: Target,
                     req: EmbeddingRequest) -> EmbeddingResponse:
    try:
        wire = _DECODER.decode(resp.body)
    except msgspec.DecodeError:
        raise bad_response("a malformed embeddings body", resp.status) from None
    want_base64 = req.encoding_format == "base64"
    data: list[Embedding] = []
    for n, item in enumerate(wire.data):
        if isinstance(item.embedding, str) != want_base64:
            raise bad_response("embeddings in a different encoding than requested", resp.status)
        data.append(Embedding(index=item.index if item.index is not None else n,
                              embedding=item.embedding))
    usage = wire.usage or _WireUsage()
    prompt = usage.prompt_tokens or 0
    return EmbeddingResponse(
        data=data,
        model=wire.model or target.model,
        usage=EmbeddingUsage(prompt_tokens=prompt, total_tokens=usage.total_tokens or prompt),
    )
