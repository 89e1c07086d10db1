"""Shared fixtures for the anthropic_messages dialect tests: targets, fixture files, helpers."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import msgspec
import pydantic
import pytest
from anthropic.types.message_create_params import (
    MessageCreateParamsNonStreaming,
    MessageCreateParamsStreaming,
)

from portico.adapters.base import (
    AuthScheme,
    DataPolicy,
    ProviderSpec,
    Target,
    UpstreamRequest,
    UpstreamResponse,
)
from portico.adapters.dialects.anthropic_messages import AnthropicMessagesDialect
from portico.schema.chat import ChatRequest
from portico.secret import Secret

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "anthropic"
FIXED_NOW = 1_760_000_000.5
# Sampling fields the 2023-06-01 API version accepts but SDK 2.x types no longer declare.
LEGACY_SAMPLING_KEYS = frozenset({"temperature", "top_p", "top_k"})


def fixture_bytes(name: str) -> bytes:
    # A missing fixture must fail, never skip: read_bytes raises FileNotFoundError.
    return (FIXTURES / name).read_bytes()


def make_target(version: str = "2023-06-01", **extra: Any) -> Target:
    spec = ProviderSpec(
        name="anthropic",
        dialect="anthropic_messages",
        base_url="https://api.anthropic.com/v1",
        auth=AuthScheme.X_API_KEY,
        data_policy=DataPolicy(retention_days=30, trains_on_data=False,
                               zero_retention_available=True),
        default_headers=(("anthropic-version", version),),
    )
    return Target(deployment="anthropic/claude", provider=spec, model="claude-sonnet-4-5",
                  base_url=extra.get("base_url", "https://api.anthropic.com/v1"),
                  api_key=Secret("sk-ant-test-key-000000"), key_id="k1")


def make_request(**fields: Any) -> ChatRequest:
    fields.setdefault("model", "claude")
    fields.setdefault("messages", [{"role": "user", "content": "hi"}])
    return msgspec.convert(fields, ChatRequest)


def response(body: bytes, status: int = 200,
             headers: dict[str, str] | None = None) -> UpstreamResponse:
    return UpstreamResponse(status=status, headers=headers or {}, body=body)


def _consume(value: Any) -> Any:
    # pydantic validates Iterable[...] fields lazily; iterating forces the nested checks.
    if isinstance(value, dict):
        return {k: _consume(v) for k, v in value.items()}
    if isinstance(value, list | tuple) or type(value).__name__ == "ValidatorIterator":
        return [_consume(v) for v in value]
    return value


@functools.cache
def _adapter(params: Any) -> pydantic.TypeAdapter[Any]:
    # Kept alive: pydantic's lazy iterators crash if their adapter is collected mid-walk.
    return pydantic.TypeAdapter(params)


def sdk_validate(body: dict[str, Any]) -> None:
    """Check an outgoing body against the anthropic SDK's MessageCreateParams TypedDicts."""
    params: Any = MessageCreateParamsStreaming if body.get("stream") else \
        MessageCreateParamsNonStreaming
    known = params.__required_keys__ | params.__optional_keys__ | LEGACY_SAMPLING_KEYS
    unknown = set(body) - known
    assert not unknown, f"keys the Anthropic API does not know: {unknown}"
    _consume(_adapter(params).validate_python(body))


def body_of(up: UpstreamRequest) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(up.body)
    sdk_validate(body)
    return body


@pytest.fixture
def dialect() -> AnthropicMessagesDialect:
    return AnthropicMessagesDialect(clock=lambda: FIXED_NOW)


@pytest.fixture
def target() -> Target:
    return make_target()
