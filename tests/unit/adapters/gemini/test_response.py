"""Golden non-stream fixtures -> ChatResponse, validated against OpenAI's response schema."""

from __future__ import annotations

import msgspec
import pytest

from portico.adapters.dialects.gemini._ids import split_tool_call_id
from portico.errors import UpstreamBadResponse, UpstreamRateLimited
from portico.schema.response import ChatResponse
from tests.support.openapi import validate
from tests.unit.adapters.gemini._support import NOW, TARGET, chat, dialect, fixture, ok


def parse(body: bytes) -> ChatResponse:
    resp = dialect().parse_response(ok(body), TARGET, chat())
    validate("CreateChatCompletionResponse", msgspec.to_builtins(msgspec.json.decode(
        msgspec.json.encode(resp))))
    return resp


def test_chat_fixture() -> None:
    r = parse(fixture("chat.json"))
    assert r.id == "mWgKaeKZJ5ai1dkPh7q34AQ"
    assert r.created == NOW
    assert r.model == "gemini-2.5-flash"
    [c] = r.choices
    # The thought part is dropped; visible parts are joined.
    assert c.message.content == "Hello! How can I help you today?"
    assert c.finish_reason == "stop"
    assert r.usage is not None
    assert (r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens) == (12, 33, 45)
    assert r.usage.cached_tokens == 4
    assert r.usage.completion_tokens_details is not None
    assert r.usage.completion_tokens_details.reasoning_tokens == 24
    encoded = msgspec.json.decode(msgspec.json.encode(r))
    assert encoded["object"] == "chat.completion"


def test_tools_fixture() -> None:
    r = parse(fixture("tools.json"))
    [c] = r.choices
    assert c.finish_reason == "tool_calls"
    assert c.message.content == "Let me check both cities."
    calls = c.message.tool_calls
    assert isinstance(calls, list) and len(calls) == 2
    first, second = calls
    assert split_tool_call_id(first.id) == (
        "call_0_0", "CiQB0e2Kb+Vq/3xYz9A1bC2dE3fG4hI5jK6lM7nO8pQ9rS0tU1vW2g==")
    assert second.id == "call_0_1"
    assert first.function.name == "get_weather"
    assert msgspec.json.decode(first.function.arguments) == {"city": "Paris", "unit": "celsius"}
    assert msgspec.json.decode(second.function.arguments) == {"city": "Tokyo"}


def _candidate(reason: str | None, index: int | None = None, **extra: object) -> dict[str, object]:
    cand: dict[str, object] = {"content": {"role": "model", "parts": [{"text": "x"}]}, **extra}
    if reason is not None:
        cand["finishReason"] = reason
    if index is not None:
        cand["index"] = index
    return cand


@pytest.mark.parametrize(("reason", "expected"), [
    ("STOP", "stop"), ("MAX_TOKENS", "length"), ("SAFETY", "content_filter"),
    ("RECITATION", "content_filter"), ("BLOCKLIST", "content_filter"),
    ("PROHIBITED_CONTENT", "content_filter"), ("SPII", "content_filter"),
    ("OTHER", "stop"), ("SOME_FUTURE_REASON", "stop"), (None, "stop"),
])
def test_finish_reasons(reason: str | None, expected: str) -> None:
    r = parse(msgspec.json.encode({"candidates": [_candidate(reason)]}))
    assert r.choices[0].finish_reason == expected


def test_multiple_candidates_use_their_index() -> None:
    body = {"candidates": [_candidate("STOP", 1), _candidate("MAX_TOKENS")],
            "responseId": "r"}
    r = parse(msgspec.json.encode(body))
    assert [(c.index, c.finish_reason) for c in r.choices] == [(0, "length"), (1, "stop")]


def test_candidates_without_indices_use_their_order() -> None:
    r = parse(msgspec.json.encode({"candidates": [_candidate("STOP"), _candidate("SAFETY")]}))
    assert [(c.index, c.finish_reason) for c in r.choices] == [(0, "stop"), (1, "content_filter")]


BLOCKED = {"promptFeedback": {"blockReason": "SAFETY"},
           "usageMetadata": {"promptTokenCount": 7, "totalTokenCount": 7}}


def test_blocked_prompt_is_a_content_filter_choice() -> None:
    r = dialect().parse_response(ok(msgspec.json.encode(BLOCKED)), TARGET, chat())
    [c] = r.choices
    assert (c.index, c.message.content, c.finish_reason) == (0, "", "content_filter")
    assert r.usage is not None and r.usage.prompt_tokens == 7


def test_blocked_prompt_validates() -> None:
    parse(msgspec.json.encode(BLOCKED))


def test_logprobs() -> None:
    cand = _candidate("STOP", logprobsResult={
        "chosenCandidates": [{"token": "x", "logProbability": -0.1}],
        "topCandidates": [{"candidates": [{"token": "x", "logProbability": -0.1},
                                          {"token": "y", "logProbability": -2.5}]}]})
    r = parse(msgspec.json.encode({"candidates": [cand]}))
    lp = r.choices[0].logprobs
    assert lp is not None and lp.content is not None
    assert lp.content[0].token == "x"
    assert [t.token for t in lp.content[0].top_logprobs] == ["x", "y"]


def test_empty_body_is_bad_response() -> None:
    with pytest.raises(UpstreamBadResponse):
        dialect().parse_response(ok(b"{}"), TARGET, chat())


def test_error_object_under_200_is_mapped() -> None:
    with pytest.raises(UpstreamRateLimited):
        dialect().parse_response(ok(fixture("error_429_retryinfo.json")), TARGET, chat())
