"""Fixture loading and targets shared by the openai_chat dialect tests."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import msgspec

from portico.adapters.base import ProviderSpec, Target, UpstreamResponse
from portico.adapters.providers import builtin_providers
from portico.secret import Secret

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "openai"
API_KEY = "sk-test-abcdefghijklmnopqrstuvwxyz"


def fixture_bytes(name: str) -> bytes:
    # A missing fixture must fail the test, never skip it.
    return (FIXTURES / name).read_bytes()


class RecordedError(msgspec.Struct):
    status: int
    headers: dict[str, str]
    body: msgspec.Raw


def recorded_error(name: str) -> UpstreamResponse:
    rec = msgspec.json.decode(fixture_bytes(name), type=RecordedError)
    return UpstreamResponse(status=rec.status, headers=rec.headers, body=bytes(rec.body))


def ok(body: bytes, headers: dict[str, str] | None = None) -> UpstreamResponse:
    return UpstreamResponse(status=200, headers=headers or {}, body=body)


def spec(name: str = "openai", **changes: object) -> ProviderSpec:
    base = builtin_providers()[name]
    return replace(base, **changes) if changes else base  # type: ignore[arg-type]


def target(provider: str | ProviderSpec = "openai", *, model: str = "gpt-4o-2024-08-06",
           base_url: str | None = None, api_version: str | None = None) -> Target:
    p = spec(provider) if isinstance(provider, str) else provider
    return Target(
        deployment=f"{p.name}-dep",
        provider=p,
        model=model,
        base_url=base_url if base_url is not None else (p.base_url or "https://example.test/v1"),
        api_key=Secret(API_KEY),
        key_id="k1",
        api_version=api_version,
    )


def as_json(payload: object) -> object:
    """What a client would receive: the msgspec encoding, decoded back to plain JSON."""
    return json.loads(msgspec.json.encode(payload))
