"""Anthropic request → canonical → the anthropic_messages dialect → Anthropic upstream body:
what an Anthropic client asked for reaches an Anthropic upstream with the same meaning."""

from __future__ import annotations

import json
from typing import Any

from portico.adapters.dialects.anthropic_messages import AnthropicMessagesDialect
from portico.inbound.anthropic_messages.request import TOOL_ERROR_PREFIX, to_canonical
from tests.unit.adapters.anthropic_messages.conftest import make_target, sdk_validate

from ._support import MAX_DEPTH, PNG

TOOLS = [{"name": "get_weather", "description": "Weather for a city", "input_schema": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]
IMAGE = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}
URL_IMAGE = {"type": "image", "source": {"type": "url", "url": "https://x.test/a.png"}}
PDF = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                      "data": "JVBERi0x"}}
REQUEST: dict[str, Any] = {
    "model": "claude-alias",
    "max_tokens": 300,
    "system": [{"type": "text", "text": "You are a weather bot."},
               {"type": "text", "text": "Answer in metric."}],
    "messages": [
        {"role": "user", "content": [{"type": "text", "text": "Weather here?"}, IMAGE,
                                     URL_IMAGE, PDF]},
        {"role": "assistant", "content": [
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather",
             "input": {"city": "Oslo"}},
            {"type": "tool_use", "id": "toolu_2", "name": "get_weather",
             "input": {"city": "Bergen"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "3C"},
            {"type": "tool_result", "tool_use_id": "toolu_2", "is_error": True,
             "content": [{"type": "text", "text": "timeout"}]},
            {"type": "text", "text": "Thanks"}]},
    ],
    "tools": TOOLS,
    "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
    "stop_sequences": ["END"],
    "temperature": 0.3,
    "metadata": {"user_id": "user-7"},
    "output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}},
    "stream": True,
}


def upstream_body(request: dict[str, Any]) -> dict[str, Any]:
    canonical = to_canonical(json.dumps(request).encode(), max_depth=MAX_DEPTH)
    up = AnthropicMessagesDialect().translate_request(canonical, make_target())
    body: dict[str, Any] = json.loads(up.body)
    sdk_validate(body)
    return body


def test_round_trip_preserves_the_request() -> None:
    body = upstream_body(REQUEST)
    assert body == {
        "model": "claude-sonnet-4-5",        # the deployment's model, chosen by config
        "max_tokens": 300,
        "system": REQUEST["system"],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Weather here?"}, IMAGE,
                                         URL_IMAGE, PDF]},
            REQUEST["messages"][1],
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "3C"},
                {"type": "tool_result", "tool_use_id": "toolu_2",
                 "content": TOOL_ERROR_PREFIX + "timeout"},
                {"type": "text", "text": "Thanks"}]},
        ],
        "tools": TOOLS,
        "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
        "stop_sequences": ["END"],
        "temperature": 0.3,
        "metadata": {"user_id": "user-7"},
        "output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}},
        "stream": True,
    }


def test_round_trip_of_named_and_none_tool_choice() -> None:
    named = upstream_body({**REQUEST, "tool_choice": {"type": "tool", "name": "get_weather"}})
    assert named["tool_choice"] == {"type": "tool", "name": "get_weather"}
    none = upstream_body({**REQUEST, "tool_choice": {"type": "none"}})
    assert none["tool_choice"] == {"type": "none"}
    auto = upstream_body({**REQUEST, "tool_choice": {"type": "auto"}})
    assert auto["tool_choice"] == {"type": "auto"}


def test_round_trip_of_string_system_and_content() -> None:
    body = upstream_body({"model": "m", "max_tokens": 5, "system": "sys",
                          "messages": [{"role": "user", "content": "hi"}]})
    assert body["system"] == [{"type": "text", "text": "sys"}]
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
