"""Canonical embeddings <-> Gemini batchEmbedContents.

https://ai.google.dev/api/embeddings#method:-models.batchembedcontents
Gemini reports no token usage for embeddings, so usage is 0/0 here and the gateway estimates it.
"""

from __future__ import annotations

import array
import base64
import sys

import msgspec

from portico.adapters._auth import join_url, upstream_headers
from portico.adapters.base import Target, UpstreamRequest, UpstreamResponse
from portico.adapters.dialects.gemini import _wire as w
from portico.adapters.dialects.gemini.request import model_path
from portico.errors import InvalidRequest, UpstreamBadResponse
from portico.schema.embeddings import Embedding, EmbeddingRequest, EmbeddingResponse, EmbeddingUsage

_DECODER = msgspec.json.Decoder(w.BatchEmbedContentsResponse)


def translate_embeddings(req: EmbeddingRequest, target: Target) -> UpstreamRequest:
    texts = req.texts()
    if texts is None:
        raise InvalidRequest("Gemini embeddings take text input, not token arrays", param="input")
    if not texts:
        raise InvalidRequest("input must not be empty", param="input")
    model = model_path(target.model)
    body = w.BatchEmbedContentsRequest(requests=[
        w.EmbedContentRequest(model=model, content=w.Content(parts=[w.Part(text=t)]),
                              output_dimensionality=req.dimensions)
        for t in texts
    ])
    return UpstreamRequest(
        method="POST",
        url=join_url(target.base_url, model + ":batchEmbedContents"),
        headers=upstream_headers(target),
        body=msgspec.json.encode(body),
    )


def _base64_floats(values: list[float]) -> str:
    # OpenAI's base64 form is little-endian float32.
    packed = array.array("f", values)
    if sys.byteorder == "big":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode()


def parse_embeddings(resp: UpstreamResponse, target: Target,
                     req: EmbeddingRequest) -> EmbeddingResponse:
    try:
        body = _DECODER.decode(resp.body)
    except msgspec.DecodeError as exc:
        raise UpstreamBadResponse(f"malformed Gemini embeddings response: {exc}") from exc
    expected = len(req.texts() or ())
    if len(body.embeddings) != expected:
        raise UpstreamBadResponse(
            f"Gemini returned {len(body.embeddings)} embeddings for {expected} inputs")
    as_base64 = req.encoding_format == "base64"
    return EmbeddingResponse(
        data=[Embedding(index=i, embedding=_base64_floats(e.values) if as_base64 else e.values)
              for i, e in enumerate(body.embeddings)],
        model=target.model,
        usage=EmbeddingUsage(prompt_tokens=0, total_tokens=0),
    )
