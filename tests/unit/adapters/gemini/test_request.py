"""Request shape: ChatRequest -> Gemini generateContent body, URL and headers."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from portico.adapters.dialects.gemini._ids import split_tool_call_id, tool_call_id
from portico.adapters.dialects.gemini.request import SKIP_SIGNATURE
from portico.errors import InvalidRequest
from tests.unit.adapters.gemini._support import BASE, TARGET, chat, dialect


def body(**kw: object) -> dict[str, Any]:
    out: dict[str, Any] = msgspec.json.decode(dialect().translate_request(chat(**kw), TARGET).body)
    return out


def test_url_headers_non_stream() -> None:
    up = dialect().translate_request(chat(), TARGET)
    assert up.method == "POST"
    assert up.url == f"{BASE}/models/gemini-2.5-flash:generateContent"
    assert not up.stream
    headers = dict(up.headers)
    assert headers["x-goog-api-key"] == "AIzaTESTKEYtestkeyTESTKEY0123"
    assert "authorization" not in headers


def test_url_stream_uses_sse() -> None:
    up = dialect().translate_request(chat(stream=True), TARGET)
    assert up.url == f"{BASE}/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    assert up.stream


def test_roles_and_system_instruction() -> None:
    b = body(messages=[
        {"role": "system", "content": "Be brief."},
        {"role": "developer", "content": [{"type": "text", "text": "Use French."}]},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "bonjour"},
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
    ])
    assert b["systemInstruction"] == {"parts": [{"text": "Be brief."}, {"text": "Use French."}]}
    assert b["contents"] == [
        {"role": "user", "parts": [{"text": "hi"}]},
        {"role": "model", "parts": [{"text": "bonjour"}]},
        {"role": "user", "parts": [{"text": "a"}, {"text": "b"}]},
    ]
    assert "generationConfig" not in b and "tools" not in b


def test_images_inline_and_uri() -> None:
    b = body(messages=[{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "image_url", "image_url": {"url": "https://x.test/cat.jpeg?s=1"}},
        {"type": "image_url", "image_url": {"url": "https://x.test/render"}},
    ]}])
    assert b["contents"][0]["parts"] == [
        {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
        {"fileData": {"fileUri": "https://x.test/cat.jpeg?s=1", "mimeType": "image/jpeg"}},
        {"fileData": {"fileUri": "https://x.test/render", "mimeType": "image/*"}},
    ]


@pytest.mark.parametrize("url", ["data:image/png,notbase64", "data:;base64,AAAA", "ftp://x/y.png"])
def test_bad_image_urls_rejected(url: str) -> None:
    with pytest.raises(InvalidRequest) as exc:
        body(messages=[{"role": "user", "content": [
            {"type": "text", "text": "see"}, {"type": "image_url", "image_url": {"url": url}}]}])
    assert exc.value.param == "messages[0].content[1].image_url.url"


def _tool_history(args: str = '{"city": "Paris"}') -> list[dict[str, object]]:
    return [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_a", "type": "function",
             "function": {"name": "get_weather", "arguments": args}},
            {"id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": ""}},
        ]},
        {"role": "tool", "tool_call_id": "call_a", "content": '{"temp": 21}'},
        {"role": "tool", "tool_call_id": "call_b", "content": "noon"},
        {"role": "user", "content": "thanks"},
    ]


def test_tool_calls_and_results() -> None:
    b = body(messages=_tool_history())
    assert b["contents"][1] == {"role": "model", "parts": [
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
         "thoughtSignature": SKIP_SIGNATURE},
        {"functionCall": {"name": "get_time", "args": {}}},
    ]}
    # Both answers to one parallel call go back in a single user turn.
    assert b["contents"][2] == {"role": "user", "parts": [
        {"functionResponse": {"name": "get_weather", "response": {"content": {"temp": 21}}}},
        {"functionResponse": {"name": "get_time", "response": {"content": "noon"}}},
    ]}
    assert b["contents"][3] == {"role": "user", "parts": [{"text": "thanks"}]}


def test_thought_signature_round_trips_through_tool_call_id() -> None:
    sig = "CiQB0e2Kb+Vq/3xYz9A1bC2dE3fG4hI5jK6lM7nO8pQ9rS0tU1vW2g=="
    cid = tool_call_id(None, 0, 0, sig)
    assert cid.startswith("call_0_0__thought__")
    assert all(ch.isalnum() or ch in "_-" for ch in cid)
    assert split_tool_call_id(cid) == ("call_0_0", sig)
    history = _tool_history()
    history[1]["tool_calls"][0]["id"] = cid  # type: ignore[index]
    history[2]["tool_call_id"] = cid
    b = body(messages=history)
    assert b["contents"][1]["parts"][0]["thoughtSignature"] == sig


def test_invalid_tool_arguments_name_the_param() -> None:
    with pytest.raises(InvalidRequest) as exc:
        body(messages=_tool_history(args="{city: Paris"))
    assert exc.value.param == "messages[1].tool_calls[0].function.arguments"
    with pytest.raises(InvalidRequest) as exc:
        body(messages=_tool_history(args="[1, 2]"))
    assert exc.value.param == "messages[1].tool_calls[0].function.arguments"


def test_unknown_tool_call_id_rejected() -> None:
    with pytest.raises(InvalidRequest) as exc:
        body(messages=[{"role": "user", "content": "x"},
                       {"role": "tool", "tool_call_id": "nope", "content": "1"}])
    assert exc.value.param == "messages[1].tool_call_id"


SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {"city": {"type": "string", "$comment": "x"}},
    "required": ["city"],
    "additionalProperties": False,
}


def test_tools_use_parameters_json_schema_without_meta_keywords() -> None:
    b = body(tools=[{"type": "function", "function": {
        "name": "get_weather", "description": "Weather now", "parameters": SCHEMA}},
        {"type": "function", "function": {"name": "ping"}}])
    assert b["tools"] == [{"functionDeclarations": [
        {"name": "get_weather", "description": "Weather now", "parametersJsonSchema": {
            "type": "object", "properties": {"city": {"type": "string"}},
            "required": ["city"], "additionalProperties": False}},
        {"name": "ping"},
    ]}]


@pytest.mark.parametrize(("choice", "expected"), [
    ("auto", {"mode": "AUTO"}),
    ("none", {"mode": "NONE"}),
    ("required", {"mode": "ANY"}),
    ({"type": "function", "function": {"name": "f"}},
     {"mode": "ANY", "allowedFunctionNames": ["f"]}),
])
def test_tool_choice(choice: object, expected: dict[str, object]) -> None:
    b = body(tools=[{"type": "function", "function": {"name": "f"}}], tool_choice=choice)
    assert b["toolConfig"] == {"functionCallingConfig": expected}


def test_generation_config() -> None:
    b = body(max_completion_tokens=100, max_tokens=5, temperature=0.2, top_p=0.9, stop="END",
             n=2, seed=7, presence_penalty=0.5, frequency_penalty=-0.5, logprobs=True,
             top_logprobs=3, metadata={"a": "b"}, user="u1",
             response_format={"type": "json_object"})
    assert b["generationConfig"] == {
        "maxOutputTokens": 100, "temperature": 0.2, "topP": 0.9, "stopSequences": ["END"],
        "candidateCount": 2, "seed": 7, "presencePenalty": 0.5, "frequencyPenalty": -0.5,
        "responseLogprobs": True, "logprobs": 3, "responseMimeType": "application/json",
    }
    assert "metadata" not in b


def test_json_schema_response_format() -> None:
    b = body(response_format={"type": "json_schema", "json_schema": {
        "name": "w", "schema": SCHEMA, "strict": True}})
    cfg = b["generationConfig"]
    assert cfg["responseMimeType"] == "application/json"
    assert "$schema" not in cfg["responseJsonSchema"]
    assert cfg["responseJsonSchema"]["additionalProperties"] is False


def test_model_prefix_is_not_doubled() -> None:
    from dataclasses import replace
    up = dialect().translate_request(chat(), replace(TARGET, model="models/gemini-2.0-flash"))
    assert up.url == f"{BASE}/models/gemini-2.0-flash:generateContent"


def test_dialect_satisfies_protocols() -> None:
    from portico.adapters.base import Dialect, EmbeddingDialect, StreamDecoder
    from portico.adapters.dialects.gemini import GeminiDialect

    d: Dialect = GeminiDialect()
    e: EmbeddingDialect = GeminiDialect()
    s: StreamDecoder = GeminiDialect().open_stream(TARGET, chat())
    assert d.name == "gemini" and e is not None and not s.done


def test_audio_and_file_parts_inline() -> None:
    b = body(messages=[{"role": "user", "content": [
        {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0=",
                                  "filename": "a.pdf"}},
    ]}])
    assert [p["inlineData"] for p in b["contents"][0]["parts"]] == [
        {"mimeType": "audio/wav", "data": "UklGRg=="},
        {"mimeType": "application/pdf", "data": "JVBERi0="}]
    with pytest.raises(InvalidRequest) as exc:
        body(messages=[{"role": "user", "content": [{"type": "file", "file": {"file_id": "f"}}]}])
    assert exc.value.param == "messages[0].content[0]"


def test_legacy_functions() -> None:
    b = body(functions=[{"name": "f", "parameters": {"type": "object"}}],
             function_call={"name": "f"},
             messages=[{"role": "user", "content": "x"},
                       {"role": "assistant", "function_call": {"name": "f", "arguments": "{}"}},
                       {"role": "function", "name": "f", "content": "done"}])
    assert b["tools"] == [{"functionDeclarations": [
        {"name": "f", "parametersJsonSchema": {"type": "object"}}]}]
    assert b["toolConfig"]["functionCallingConfig"] == {
        "mode": "ANY", "allowedFunctionNames": ["f"]}
    assert b["contents"][2] == {"role": "user", "parts": [
        {"functionResponse": {"name": "f", "response": {"content": "done"}}}]}
