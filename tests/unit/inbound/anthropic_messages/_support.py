"""Shared helpers: the official anthropic SDK as a client over an in-process transport."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anthropic
import httpx2

from portico.inbound.anthropic_messages.request import to_canonical
from portico.schema.chat import ChatRequest

MAX_DEPTH = 64
PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9"
       "awAAAABJRU5ErkJggg==")


def canonical(**fields: Any) -> ChatRequest:
    fields.setdefault("model", "claude-test")
    fields.setdefault("max_tokens", 64)
    fields.setdefault("messages", [{"role": "user", "content": "hi"}])
    return to_canonical(json.dumps(fields).encode(), max_depth=MAX_DEPTH)


def sdk_client(handler: Callable[[httpx2.Request], httpx2.Response]) -> anthropic.Anthropic:
    """An SDK client whose requests go to `handler` instead of the network."""
    http = httpx2.Client(transport=httpx2.MockTransport(handler))
    return anthropic.Anthropic(api_key="sk-ant-test", base_url="http://gateway.test",
                               http_client=http, max_retries=0)


def sse_response(body: bytes) -> Callable[[httpx2.Request], httpx2.Response]:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)
    return handler
