"""Canonical responses to Anthropic `Message` bodies, validated by the anthropic SDK's types."""

from __future__ import annotations

import json
from typing import Any

import pytest
from anthropic.types import Message

from portico.inbound.anthropic_messages.response import RAW_ARGUMENTS_KEY, to_anthropic
from portico.schema.chat import FunctionCall, ToolCall
from portico.schema.response import (
    ChatResponse,
    Choice,
    FinishReason,
    PromptTokensDetails,
    ResponseMessage,
    Usage,
)


def response(content: str | None = "Hello", *, finish: FinishReason | None = "stop",
             calls: list[ToolCall] | None = None, refusal: str | None = None,
             usage: Usage | None = None) -> ChatResponse:
    msg = ResponseMessage(content=content, refusal=refusal)
    if calls:
        msg.tool_calls = calls
    return ChatResponse(id="chatcmpl-1", created=1, model="gpt-x",
                        choices=[Choice(index=0, message=msg, finish_reason=finish)],
                        usage=usage)


def call(arguments: str, id_: str = "call_1", name: str = "get") -> ToolCall:
    return ToolCall(id=id_, function=FunctionCall(name=name, arguments=arguments))


def as_message(resp: ChatResponse) -> tuple[Message, dict[str, Any]]:
    raw = to_anthropic(resp, requested_model="claude-alias")
    return Message.model_validate_json(raw), json.loads(raw)


def test_text_message_shape() -> None:
    usage = Usage(prompt_tokens=10, completion_tokens=3, total_tokens=13)
    msg, raw = as_message(response(usage=usage))
    assert raw == {
        "type": "message", "id": "msg_chatcmpl-1", "model": "claude-alias", "role": "assistant",
        "content": [{"type": "text", "text": "Hello"}], "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 3, "cache_creation_input_tokens": 0,
                  "cache_read_input_tokens": 0},
    }
    assert msg.content[0].type == "text"


def test_anthropic_ids_are_kept() -> None:
    resp = response()
    resp.id = "msg_01abc"
    assert as_message(resp)[0].id == "msg_01abc"


def test_tool_calls_become_tool_use_blocks() -> None:
    msg, raw = as_message(response("Let me check.", finish="tool_calls", calls=[
        call('{"city": "Oslo"}'), call("", id_="call_2", name="now")]))
    assert raw["content"] == [
        {"type": "text", "text": "Let me check."},
        {"type": "tool_use", "id": "call_1", "name": "get", "input": {"city": "Oslo"}},
        {"type": "tool_use", "id": "call_2", "name": "now", "input": {}},
    ]
    assert msg.stop_reason == "tool_use"


@pytest.mark.parametrize("arguments", ['{"city": "Os', "[1, 2]", '"text"'])
def test_arguments_that_are_not_an_object_are_kept_raw(arguments: str) -> None:
    _, raw = as_message(response(None, finish="tool_calls", calls=[call(arguments)]))
    assert raw["content"] == [{"type": "tool_use", "id": "call_1", "name": "get",
                               "input": {RAW_ARGUMENTS_KEY: arguments}}]


@pytest.mark.parametrize(("finish", "calls", "expected"), [
    ("stop", False, "end_turn"),
    (None, False, "end_turn"),
    ("length", False, "max_tokens"),
    ("tool_calls", True, "tool_use"),
    ("function_call", True, "tool_use"),
    ("stop", True, "tool_use"),       # providers that finish tool calls with "stop"
    ("content_filter", False, "refusal"),
])
def test_stop_reason_map(finish: FinishReason | None, calls: bool, expected: str) -> None:
    resp = response(finish=finish, calls=[call("{}")] if calls else None)
    assert as_message(resp)[0].stop_reason == expected


def test_refusal_is_text_with_refusal_stop_reason() -> None:
    msg, raw = as_message(response(None, refusal="I can't help with that."))
    assert raw["content"] == [{"type": "text", "text": "I can't help with that."}]
    assert msg.stop_reason == "refusal"


def test_usage_splits_cache_reads_and_writes_out_of_input() -> None:
    usage = Usage(prompt_tokens=1000, completion_tokens=50, total_tokens=1050,
                  prompt_tokens_details=PromptTokensDetails(cached_tokens=600,
                                                            cache_creation_tokens=300))
    msg, _ = as_message(response(usage=usage))
    assert (msg.usage.input_tokens, msg.usage.cache_read_input_tokens,
            msg.usage.cache_creation_input_tokens, msg.usage.output_tokens) == (100, 600, 300, 50)


def test_missing_usage_and_empty_choices_still_validate() -> None:
    resp = ChatResponse(id="x", created=1, model="m", choices=[])
    msg, raw = as_message(resp)
    assert raw["content"] == [] and msg.usage.input_tokens == 0 and msg.stop_reason == "end_turn"
