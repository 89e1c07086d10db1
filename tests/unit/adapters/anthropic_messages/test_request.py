"""Request translation: each family of canonical fields to Anthropic's /v1/messages body."""

from __future__ import annotations

from typing import Any

import pytest

from portico.adapters.base import Target
from portico.adapters.dialects.anthropic_messages import AnthropicMessagesDialect
from portico.adapters.dialects.anthropic_messages.request import (
    DEFAULT_MAX_TOKENS,
    JSON_OBJECT_INSTRUCTION,
)
from portico.errors import InvalidRequest

from .conftest import body_of, make_request, make_target

PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9"
       "awAAAABJRU5ErkJggg==")


def translate(dialect: AnthropicMessagesDialect, target: Target, **fields: Any) -> dict[str, Any]:
    return body_of(dialect.translate_request(make_request(**fields), target))


def test_url_method_headers_and_minimal_body(dialect: AnthropicMessagesDialect,
                                             target: Target) -> None:
    up = dialect.translate_request(make_request(max_tokens=100), target)
    assert (up.method, up.url, up.stream) == ("POST", "https://api.anthropic.com/v1/messages",
                                              False)
    headers = dict(up.headers)
    assert headers["x-api-key"] == "sk-ant-test-key-000000"
    assert headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in headers
    assert body_of(up) == {"model": "claude-sonnet-4-5", "max_tokens": 100,
                           "messages": [{"role": "user",
                                         "content": [{"type": "text", "text": "hi"}]}]}


def test_trailing_slash_base_url(dialect: AnthropicMessagesDialect) -> None:
    target = make_target(base_url="https://proxy.example/anthropic/v1/")
    assert dialect.translate_request(make_request(), target).url == \
        "https://proxy.example/anthropic/v1/messages"


@pytest.mark.parametrize(("fields", "expected"), [
    ({}, DEFAULT_MAX_TOKENS),
    ({"max_tokens": 7}, 7),
    ({"max_completion_tokens": 9, "max_tokens": 7}, 9),
])
def test_max_tokens_always_present(dialect: AnthropicMessagesDialect, target: Target,
                                   fields: dict[str, Any], expected: int) -> None:
    assert translate(dialect, target, **fields)["max_tokens"] == expected


def test_system_and_developer_hoisted_and_roles_merged(dialect: AnthropicMessagesDialect,
                                                       target: Target) -> None:
    body = translate(dialect, target, messages=[
        {"role": "system", "content": "You are terse."},
        {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
        {"role": "user", "content": "one"},
        {"role": "user", "content": [{"type": "text", "text": "two"}]},
        {"role": "assistant", "content": "ok"},
        {"role": "assistant", "content": [{"type": "text", "text": "more"}]},
        {"role": "user", "content": "three"},
    ])
    assert body["system"] == [{"type": "text", "text": "You are terse."},
                              {"type": "text", "text": "Answer in French."}]
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][0]["content"] == [{"type": "text", "text": "one"},
                                              {"type": "text", "text": "two"}]
    assert body["messages"][1]["content"] == [{"type": "text", "text": "ok"},
                                              {"type": "text", "text": "more"}]


def test_tool_round_trip_turns(dialect: AnthropicMessagesDialect, target: Target) -> None:
    body = translate(dialect, target, messages=[
        {"role": "user", "content": "weather in Paris and Rome?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "toolu_1", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
            {"id": "toolu_2", "type": "function",
             "function": {"name": "get_weather", "arguments": ""}},
        ]},
        {"role": "tool", "tool_call_id": "toolu_1", "content": "18C"},
        {"role": "tool", "tool_call_id": "toolu_2",
         "content": [{"type": "text", "text": "21"}, {"type": "text", "text": "C"}]},
        {"role": "user", "content": "thanks"},
    ])
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][1]["content"] == [
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {}},
    ]
    assert body["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
        {"type": "tool_result", "tool_use_id": "toolu_2", "content": "21C"},
        {"type": "text", "text": "thanks"},
    ]


@pytest.mark.parametrize("arguments", ["{not json", "[1, 2]", '"text"'])
def test_bad_tool_arguments_name_the_param(dialect: AnthropicMessagesDialect, target: Target,
                                           arguments: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        translate(dialect, target, messages=[
            {"role": "user", "content": "x"},
            {"role": "assistant", "tool_calls": [
                {"id": "t", "type": "function",
                 "function": {"name": "f", "arguments": arguments}}]},
        ])
    assert info.value.param == "messages[1].tool_calls[0].function.arguments"


def test_images_base64_and_url(dialect: AnthropicMessagesDialect, target: Target) -> None:
    body = translate(dialect, target, messages=[{"role": "user", "content": [
        {"type": "text", "text": "compare"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg",
                                            "detail": "high"}},
    ]}])
    assert body["messages"][0]["content"][1:] == [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
    ]


@pytest.mark.parametrize("url", ["data:image/bmp;base64,AAAA", "data:image/png,rawbytes",
                                 "ftp://example.com/x.png", "file:///etc/passwd"])
def test_unsupported_images_rejected(dialect: AnthropicMessagesDialect, target: Target,
                                     url: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        translate(dialect, target, messages=[{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": url}}]}])
    assert info.value.param == "messages[0].content[0]"


def test_pdf_file_becomes_document_and_audio_is_rejected(dialect: AnthropicMessagesDialect,
                                                         target: Target) -> None:
    body = translate(dialect, target, messages=[{"role": "user", "content": [
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0=",
                                  "filename": "a.pdf"}}]}])
    assert body["messages"][0]["content"] == [{"type": "document", "source": {
        "type": "base64", "media_type": "application/pdf", "data": "JVBERi0="}}]
    with pytest.raises(InvalidRequest):
        translate(dialect, target, messages=[{"role": "user", "content": [
            {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}]}])


def test_sampling_stop_user(dialect: AnthropicMessagesDialect, target: Target) -> None:
    body = translate(dialect, target, temperature=0.2, top_p=0.9, stop="END", user="u-42")
    assert (body["temperature"], body["top_p"]) == (0.2, 0.9)
    assert body["stop_sequences"] == ["END"]
    assert body["metadata"] == {"user_id": "u-42"}
    assert translate(dialect, target, stop=["a", "b"])["stop_sequences"] == ["a", "b"]
    assert "stop_sequences" not in translate(dialect, target, stop=[])


def test_sampling_dropped_on_versions_that_reject_it(dialect: AnthropicMessagesDialect) -> None:
    body = translate(dialect, make_target(version="2026-10-21"), temperature=0.2, top_p=0.9)
    assert "temperature" not in body
    assert "top_p" not in body


def test_temperature_above_anthropic_range(dialect: AnthropicMessagesDialect,
                                           target: Target) -> None:
    with pytest.raises(InvalidRequest) as info:
        translate(dialect, target, temperature=1.5)
    assert info.value.param == "temperature"


WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}


def test_tools_translated(dialect: AnthropicMessagesDialect, target: Target) -> None:
    body = translate(dialect, target, tools=[
        WEATHER, {"type": "function", "function": {"name": "now", "strict": True}}])
    assert body["tools"] == [
        {"name": "get_weather", "description": "Weather for a city",
         "input_schema": WEATHER["function"]["parameters"]},  # type: ignore[index]
        {"name": "now", "input_schema": {"type": "object", "properties": {}}, "strict": True},
    ]
    assert "tool_choice" not in body


@pytest.mark.parametrize(("choice", "parallel", "expected"), [
    ("auto", None, {"type": "auto"}),
    ("required", None, {"type": "any"}),
    ("none", None, {"type": "none"}),
    ({"type": "function", "function": {"name": "get_weather"}}, None,
     {"type": "tool", "name": "get_weather"}),
    ("auto", False, {"type": "auto", "disable_parallel_tool_use": True}),
    ("required", False, {"type": "any", "disable_parallel_tool_use": True}),
    (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
    ({"type": "function", "function": {"name": "get_weather"}}, False,
     {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True}),
    ("auto", True, {"type": "auto"}),
])
def test_tool_choice(dialect: AnthropicMessagesDialect, target: Target, choice: Any,
                     parallel: bool | None, expected: dict[str, Any]) -> None:
    fields: dict[str, Any] = {"tools": [WEATHER]}
    if choice is not None:
        fields["tool_choice"] = choice
    if parallel is not None:
        fields["parallel_tool_calls"] = parallel
    assert translate(dialect, target, **fields)["tool_choice"] == expected


def test_json_schema_uses_structured_outputs(dialect: AnthropicMessagesDialect,
                                             target: Target) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}},
              "required": ["a"], "additionalProperties": False}
    body = translate(dialect, target, response_format={
        "type": "json_schema", "json_schema": {"name": "r", "schema": schema, "strict": True}})
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
    assert "system" not in body


def test_json_object_uses_a_system_instruction(dialect: AnthropicMessagesDialect,
                                               target: Target) -> None:
    body = translate(dialect, target, messages=[
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "x"}],
        response_format={"type": "json_object"})
    assert body["system"] == [{"type": "text", "text": "Be brief."},
                              {"type": "text", "text": JSON_OBJECT_INSTRUCTION}]
    assert "output_config" not in body
    assert "system" not in translate(dialect, target, response_format={"type": "text"})


def test_n_greater_than_one_rejected(dialect: AnthropicMessagesDialect, target: Target) -> None:
    with pytest.raises(InvalidRequest) as info:
        translate(dialect, target, n=2)
    assert info.value.param == "n"
    assert "n" not in translate(dialect, target, n=1)


def test_stream_flag(dialect: AnthropicMessagesDialect, target: Target) -> None:
    up = dialect.translate_request(make_request(stream=True), target)
    assert up.stream is True
    assert body_of(up)["stream"] is True
    assert "stream" not in translate(dialect, target, stream=False)


@pytest.mark.parametrize("fields", [
    {"functions": [{"name": "f"}]},
    {"messages": [{"role": "function", "name": "f", "content": "x"}]},
    {"messages": [{"role": "assistant", "function_call": {"name": "f", "arguments": "{}"}}]},
])
def test_legacy_functions_rejected(dialect: AnthropicMessagesDialect, target: Target,
                                   fields: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequest):
        translate(dialect, target, **fields)


def test_empty_text_blocks_are_not_sent(dialect: AnthropicMessagesDialect,
                                        target: Target) -> None:
    body = translate(dialect, target, messages=[
        {"role": "system", "content": ""}, {"role": "user", "content": "q"},
        {"role": "assistant", "content": ""}, {"role": "user", "content": "again"}])
    assert "system" not in body
    assert body["messages"] == [{"role": "user", "content": [
        {"type": "text", "text": "q"}, {"type": "text", "text": "again"}]}]


@pytest.mark.parametrize("body", [
    {"model": "m", "messages": []},                                   # max_tokens missing
    {"model": "m", "max_tokens": 1, "messages": [], "tool_choice": {"type": "required"}},
    {"model": "m", "max_tokens": 1, "messages": [], "n": 2},
    {"model": "m", "max_tokens": 1,
     "messages": [{"role": "user", "content": [{"type": "image_url", "url": "x"}]}]},
])
def test_sdk_check_itself_catches_bad_bodies(body: dict[str, Any]) -> None:
    from .conftest import sdk_validate

    with pytest.raises((AssertionError, ValueError)):
        sdk_validate(body)
