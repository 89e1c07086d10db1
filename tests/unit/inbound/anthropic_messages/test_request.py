"""Inbound request translation: each Anthropic block type and option to the canonical request."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx2
import msgspec
import pytest

from portico.errors import InvalidRequest
from portico.inbound.anthropic_messages.request import (
    SCHEMA_NAME,
    TOOL_ATTACHMENT_NOTE,
    TOOL_ERROR_PREFIX,
    to_canonical,
    translate,
)
from portico.schema import chat as c

from ._support import MAX_DEPTH, PNG, canonical, sdk_client


def plain(req: c.ChatRequest) -> dict[str, Any]:
    result: dict[str, Any] = msgspec.to_builtins(req)
    return result


def test_minimal_request() -> None:
    assert plain(canonical()) == {"model": "claude-test", "max_tokens": 64,
                                  "messages": [{"role": "user", "content": "hi"}]}


def test_system_string_and_blocks() -> None:
    assert plain(canonical(system="Be terse."))["messages"][0] == {
        "role": "system", "content": "Be terse."}
    req = canonical(system=[{"type": "text", "text": "A", "cache_control": {"type": "ephemeral"}},
                            {"type": "text", "text": ""}, {"type": "text", "text": "B"}])
    assert plain(req)["messages"][:2] == [{"role": "system", "content": "A"},
                                         {"role": "system", "content": "B"}]


def test_text_blocks_and_string_content() -> None:
    req = canonical(messages=[
        {"role": "user", "content": [{"type": "text", "text": "one"}]},
        {"role": "assistant", "content": "two"},
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
    ])
    assert plain(req)["messages"] == [
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "two"},
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
    ]


def test_images_base64_and_url() -> None:
    req = canonical(messages=[{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "image", "source": {"type": "url", "url": "https://x.test/cat.jpg"}},
        {"type": "text", "text": "what?"},
    ]}])
    assert plain(req)["messages"][0]["content"] == [
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
        {"type": "image_url", "image_url": {"url": "https://x.test/cat.jpg"}},
        {"type": "text", "text": "what?"},
    ]


def test_documents_pdf_text_and_content() -> None:
    req = canonical(messages=[{"role": "user", "content": [
        {"type": "document", "title": "r.pdf",
         "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0x"}},
        {"type": "document", "source": {"type": "text", "media_type": "text/plain",
                                        "data": "plain doc"}},
        {"type": "document", "source": {"type": "content",
                                        "content": [{"type": "text", "text": "inner"}]}},
    ]}])
    assert plain(req)["messages"][0]["content"] == [
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0x",
                                  "filename": "r.pdf"}},
        {"type": "text", "text": "plain doc"},
        {"type": "text", "text": "inner"},
    ]


def test_tool_use_and_tool_results() -> None:
    req = canonical(messages=[
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": [
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_1", "name": "get", "input": {"city": "Oslo"}},
            {"type": "tool_use", "id": "toolu_2", "name": "get", "input": {}},
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1",
             "content": [{"type": "text", "text": "3C"}, {"type": "text", "text": "windy"}]},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": "boom", "is_error": True},
            {"type": "text", "text": "and tomorrow?"},
        ]},
    ])
    msgs = plain(req)["messages"]
    assert msgs[1] == {"role": "assistant", "content": "Checking.", "tool_calls": [
        {"type": "function", "id": "toolu_1",
         "function": {"name": "get", "arguments": '{"city":"Oslo"}'}},
        {"type": "function", "id": "toolu_2", "function": {"name": "get", "arguments": "{}"}},
    ]}
    assert msgs[2:] == [
        {"role": "tool", "tool_call_id": "toolu_1", "content": "3C\nwindy"},
        {"role": "tool", "tool_call_id": "toolu_2", "content": TOOL_ERROR_PREFIX + "boom"},
        {"role": "user", "content": "and tomorrow?"},
    ]


def test_tool_result_images_follow_as_a_user_message() -> None:
    req = canonical(messages=[
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "t1", "name": "shot", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [
            {"type": "text", "text": "ok"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                         "data": PNG}}]}]},
    ])
    assert plain(req)["messages"][1:] == [
        {"role": "tool", "tool_call_id": "t1", "content": "ok"},
        {"role": "user", "content": [
            {"type": "text", "text": TOOL_ATTACHMENT_NOTE.format(id="t1")},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}]},
    ]


def test_thinking_blocks_are_dropped_and_reported() -> None:
    body = {"model": "m", "max_tokens": 8, "messages": [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "hmm", "signature": "sig"},
            {"type": "redacted_thinking", "data": "xx"},
            {"type": "text", "text": "a"}]}]}
    result = translate(json.dumps(body).encode(), max_depth=MAX_DEPTH)
    assert plain(result.chat)["messages"][1] == {"role": "assistant", "content": "a"}
    assert result.dropped == ("thinking_blocks",)


def test_sampling_stop_user_and_stream() -> None:
    req = canonical(temperature=0.2, top_p=0.9, stop_sequences=["END", "STOP"],
                    metadata={"user_id": "u-1"}, stream=True)
    assert (req.temperature, req.top_p, req.stop, req.user) == (0.2, 0.9, ["END", "STOP"], "u-1")
    assert req.wants_stream and req.include_usage


def test_dropped_fields_are_reported() -> None:
    body = {"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": "q"}],
            "top_k": 5, "thinking": {"type": "enabled", "budget_tokens": 2048},
            "cache_control": {"type": "ephemeral"}, "service_tier": "auto",
            "output_config": {"effort": "high"}}
    result = translate(json.dumps(body).encode(), max_depth=MAX_DEPTH)
    assert set(result.dropped) == {"top_k", "thinking", "cache_control", "service_tier",
                                   "output_config.effort"}
    assert plain(result.chat) == {"model": "m", "max_tokens": 8,
                                  "messages": [{"role": "user", "content": "q"}]}


TOOL = {"name": "get", "description": "Get weather", "input_schema": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


def test_tools() -> None:
    req = canonical(tools=[TOOL, {**TOOL, "name": "strict_one", "strict": True,
                                  "type": "custom"}])
    assert plain(req)["tools"] == [
        {"type": "function", "function": {"name": "get", "description": "Get weather",
                                          "parameters": TOOL["input_schema"]}},
        {"type": "function", "function": {"name": "strict_one", "description": "Get weather",
                                          "parameters": TOOL["input_schema"], "strict": True}},
    ]


@pytest.mark.parametrize(("choice", "expected", "parallel"), [
    ({"type": "auto"}, "auto", None),
    ({"type": "auto", "disable_parallel_tool_use": True}, "auto", False),
    ({"type": "any"}, "required", None),
    ({"type": "any", "disable_parallel_tool_use": True}, "required", False),
    ({"type": "tool", "name": "get"}, {"type": "function", "function": {"name": "get"}}, None),
    ({"type": "none"}, "none", None),
])
def test_tool_choice(choice: dict[str, Any], expected: Any, parallel: bool | None) -> None:
    req = canonical(tools=[TOOL], tool_choice=choice)
    assert msgspec.to_builtins(req.tool_choice) == expected
    assert req.parallel_tool_calls is parallel


def test_tool_choice_without_tools_is_dropped() -> None:
    body = {"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": "q"}],
            "tool_choice": {"type": "auto"}}
    result = translate(json.dumps(body).encode(), max_depth=MAX_DEPTH)
    assert result.chat.tool_choice is None and result.dropped == ("tool_choice",)


def test_output_config_json_schema() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}},
              "additionalProperties": False}
    req = canonical(output_config={"format": {"type": "json_schema", "schema": schema}})
    assert plain(req)["response_format"] == {"type": "json_schema", "json_schema": {
        "name": SCHEMA_NAME, "schema": schema, "strict": True}}


def test_body_the_sdk_sends_decodes() -> None:
    seen: list[bytes] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.read())
        return httpx2.Response(400, json={"type": "error", "error": {
            "type": "invalid_request_error", "message": "stop here"}})

    client = sdk_client(handler)
    with pytest.raises(anthropic.BadRequestError, match="stop here"):
        client.messages.create(
            model="claude-x", max_tokens=10, system="sys",
            messages=[{"role": "user", "content": "hello"}],
            tools=[{"name": "get", "input_schema": {"type": "object"}}],
            tool_choice={"type": "any"}, metadata={"user_id": "u"}, stop_sequences=["X"])
    req = to_canonical(seen[0], max_depth=MAX_DEPTH)
    assert (req.model, req.max_tokens, req.tool_choice, req.user, req.stop) == (
        "claude-x", 10, "required", "u", ["X"])
    assert plain(req)["messages"] == [{"role": "system", "content": "sys"},
                                      {"role": "user", "content": "hello"}]


# ---- errors -------------------------------------------------------------------------------------


def rejected(body: Any) -> InvalidRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    with pytest.raises(InvalidRequest) as info:
        to_canonical(raw, max_depth=MAX_DEPTH)
    return info.value


BASE: dict[str, Any] = {"model": "m", "max_tokens": 8,
                        "messages": [{"role": "user", "content": "q"}]}


@pytest.mark.parametrize(("body", "param", "code"), [
    ({"model": "m", "messages": BASE["messages"]}, "max_tokens", None),
    ({**BASE, "max_tokens": 0}, "max_tokens", None),
    ({**BASE, "messages": []}, "messages", None),
    ({**BASE, "temperature": 1.5}, "temperature", None),
    ({**BASE, "frequency_penalty": 1}, "frequency_penalty", "unknown_parameter"),
    ({**BASE, "api_key": "sk-x"}, "api_key", "forbidden_parameter"),
    ({**BASE, "base_url": "http://evil"}, "base_url", "forbidden_parameter"),
    ({**BASE, "workspace_id": "w"}, "workspace_id", "forbidden_parameter"),
    ({**BASE, "messages": [{"role": "user", "content": [{"type": "text"}]}]},
     "messages.0.content.0.text", None),
    ({**BASE, "messages": [{"role": "user", "content": [{"type": "server_tool_use"}]}]},
     "messages.0.content.0.type", None),
    ({**BASE, "messages": [{"role": "robot", "content": "x"}]}, "messages.0.role", None),
    ({**BASE, "messages": [{"role": "user", "content": [{"type": "image", "source": {
        "type": "base64", "media_type": "image/bmp", "data": "x"}}]}]},
     "messages.0.content.0.source.media_type", None),
    ({**BASE, "messages": [{"role": "user", "content": [{"type": "image", "source": {
        "type": "file", "file_id": "f"}}]}]}, "messages.0.content.0.source.type", None),
    ({**BASE, "messages": [{"role": "user", "content": [{"type": "document", "source": {
        "type": "url", "url": "https://x.test/a.pdf"}}]}]},
     "messages.0.content.0.source.type", None),
    ({**BASE, "messages": [{"role": "user", "content": [
        {"type": "tool_use", "id": "t", "name": "n", "input": {}}]}]},
     "messages.0.content.0.type", None),
    ({**BASE, "messages": [{"role": "assistant", "content": [
        {"type": "tool_result", "tool_use_id": "t"}]}]}, "messages.0.content.0.type", None),
    ({**BASE, "messages": [{"role": "assistant", "content": [{"type": "thinking"}]}]},
     "messages", None),
    ({**BASE, "tools": [{"type": "web_search_20250305", "name": "web_search"}]},
     "tools.0.type", None),
    ({**BASE, "tools": [{"name": "t"}]}, "tools.0.input_schema", None),
    ({**BASE, "metadata": {"user_id": 5}}, "metadata.user_id", None),
])
def test_invalid_requests_name_the_anthropic_path(body: dict[str, Any], param: str,
                                                  code: str | None) -> None:
    err = rejected(body)
    assert err.status == 400 and err.param == param and err.code == code
    assert err.message.startswith(f"{param}: ")


def test_unknown_nested_fields_are_tolerated() -> None:
    req = canonical(messages=[{"role": "user", "content": [
        {"type": "text", "text": "q", "cache_control": {"type": "ephemeral"},
         "future_field": 1}]}], metadata={"user_id": "u", "extra": True})
    assert req.user == "u"


def test_malformed_bodies() -> None:
    assert "empty" in rejected(b"").message
    assert "JSON" in rejected(b"{not json").message
    assert "nesting" in rejected(b"[" * 100 + b"]" * 100).message
