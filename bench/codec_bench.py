"""Decode + validate + encode of a chat request and response: msgspec Structs versus pydantic v2
models (encode via model_dump_json, and via orjson over model_dump)."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from importlib import metadata
from typing import Any, Literal

import msgspec
import orjson
import pydantic

REQUEST = json.dumps({
    "model": "gpt-4o-mini", "temperature": 0.2, "max_tokens": 256, "stream": False,
    "messages": [{"role": "system", "content": "You are a helpful assistant. " * 4},
                 {"role": "user", "content": "Summarise the following text. " * 12},
                 {"role": "assistant", "content": "Sure, here is a summary. " * 6},
                 {"role": "user", "content": "Thanks, and list three key points."}],
    "tools": [{"type": "function", "function": {
        "name": "lookup", "description": "Look something up",
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}],
}).encode()
RESPONSE = json.dumps({
    "id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000,
    "model": "gpt-4o-mini", "choices": [{"index": 0, "finish_reason": "stop", "message": {
        "role": "assistant", "content": "Here are three key points. " * 10}}],
    "usage": {"prompt_tokens": 180, "completion_tokens": 60, "total_tokens": 240},
}).encode()


class MFunction(msgspec.Struct, omit_defaults=True):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None


class MTool(msgspec.Struct):
    type: Literal["function"]
    function: MFunction


class MMessage(msgspec.Struct, omit_defaults=True):
    role: Literal["system", "user", "assistant", "tool"]
    content: str | None = None


class MRequest(msgspec.Struct, omit_defaults=True):
    model: str
    messages: list[MMessage]
    temperature: float | None = None
    max_tokens: int | None = None
    stream: bool = False
    tools: list[MTool] | None = None


class MChoice(msgspec.Struct):
    index: int
    finish_reason: str | None
    message: MMessage


class MUsage(msgspec.Struct):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class MResponse(msgspec.Struct):
    id: str
    object: str
    created: int
    model: str
    choices: list[MChoice]
    usage: MUsage | None = None


class PFunction(pydantic.BaseModel):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None


class PTool(pydantic.BaseModel):
    type: Literal["function"]
    function: PFunction


class PMessage(pydantic.BaseModel):
    role: Literal["system", "user", "assistant", "tool"]
    content: str | None = None


class PRequest(pydantic.BaseModel):
    model: str
    messages: list[PMessage]
    temperature: float | None = None
    max_tokens: int | None = None
    stream: bool = False
    tools: list[PTool] | None = None


class PChoice(pydantic.BaseModel):
    index: int
    finish_reason: str | None
    message: PMessage


class PUsage(pydantic.BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class PResponse(pydantic.BaseModel):
    id: str
    object: str
    created: int
    model: str
    choices: list[PChoice]
    usage: PUsage | None = None


def _cases() -> dict[str, Callable[[], object]]:
    req_dec, resp_dec = msgspec.json.Decoder(MRequest), msgspec.json.Decoder(MResponse)
    enc = msgspec.json.Encoder()
    return {
        "msgspec": lambda: (enc.encode(req_dec.decode(REQUEST)),
                            enc.encode(resp_dec.decode(RESPONSE))),
        "pydantic v2 (model_dump_json)": lambda: (
            PRequest.model_validate_json(REQUEST).model_dump_json(exclude_none=True),
            PResponse.model_validate_json(RESPONSE).model_dump_json()),
        "pydantic v2 + orjson": lambda: (
            orjson.dumps(PRequest.model_validate(orjson.loads(REQUEST)).model_dump(
                exclude_none=True)),
            orjson.dumps(PResponse.model_validate(orjson.loads(RESPONSE)).model_dump())),
    }


def run(reps: int, loops: int) -> dict[str, Any]:
    """Microseconds per request+response round (decode, validate, encode both)."""
    out: dict[str, Any] = {}
    for name, fn in _cases().items():
        for _ in range(loops // 10):
            fn()
        times = []
        for _ in range(reps):
            start = time.perf_counter()
            for _ in range(loops):
                fn()
            times.append((time.perf_counter() - start) * 1e6 / loops)
        out[name] = {"runs_us": times, "median_us": statistics.median(times)}
    return out


def versions() -> dict[str, str]:
    names = ("msgspec", "pydantic", "pydantic-core", "orjson", "aiohttp", "httpx", "uvicorn",
             "httptools", "uvloop")
    return {n: metadata.version(n) for n in names}
