"""The OpenAI simulator through the official openai SDK, checked against the OpenAPI document."""

from __future__ import annotations

import json

import aiohttp
import openai
import pytest
from openai.types.chat import (
    ChatCompletionMessageParam,
    ChatCompletionToolChoiceOptionParam,
    ChatCompletionToolParam,
)

from portico.simulate import Simulator
from tests.support.openapi import validate

USER: list[ChatCompletionMessageParam] = [
    {"role": "user", "content": "hello there simulated world"}
]
WEATHER: ChatCompletionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city", "days"],
        },
    },
}


def client(sim: Simulator) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=sim.base_url, api_key="sk-test-secret", max_retries=0)


async def test_chat_non_stream_matches_spec_and_echoes(openai_sim: Simulator) -> None:
    resp = await client(openai_sim).chat.completions.with_raw_response.create(
        model="gpt-x", messages=USER, extra_headers={"x-portico-request-id": "req-42"}
    )
    validate("CreateChatCompletionResponse", json.loads(resp.content))
    done = resp.parse()
    assert done.model == "gpt-x"
    assert done.choices[0].message.content is not None
    assert done.choices[0].message.content.startswith("hello there simulated world hello")
    assert done.choices[0].finish_reason == "stop"
    assert done.usage is not None and done.usage.completion_tokens == 32
    assert done.usage.total_tokens == done.usage.prompt_tokens + 32
    entry = openai_sim.ledger.last()
    assert entry.request_id == "req-42" and entry.model == "gpt-x" and not entry.stream
    assert entry.auth_present and "authorization" not in entry.headers
    assert "sk-test-secret" not in json.dumps(entry.headers)
    assert entry.json_body() == {"model": "gpt-x", "messages": USER}
    assert entry.status == 200 and entry.completion_tokens == 32


async def test_max_tokens_truncates_with_length(openai_sim: Simulator) -> None:
    done = await client(openai_sim).chat.completions.create(
        model="m", messages=USER, max_completion_tokens=5
    )
    assert done.choices[0].finish_reason == "length"
    assert done.usage is not None and done.usage.completion_tokens == 5
    assert len(done.choices[0].message.content or "") == 20


async def test_stream_with_usage_equals_non_stream(openai_sim: Simulator) -> None:
    sdk = client(openai_sim)
    plain = await sdk.chat.completions.create(model="m", messages=USER)
    stream = await sdk.chat.completions.create(
        model="m", messages=USER, stream=True, stream_options={"include_usage": True}
    )
    texts: list[str] = []
    usage = None
    finish = None
    async for chunk in stream:
        validate("CreateChatCompletionStreamResponse", chunk.model_dump(exclude_unset=True))
        if chunk.usage is not None:
            usage = chunk.usage
            assert chunk.choices == []
        for choice in chunk.choices:
            if choice.delta.content:
                texts.append(choice.delta.content)
            finish = choice.finish_reason or finish
    assert len(texts) == 20
    assert "".join(texts) == plain.choices[0].message.content
    assert finish == "stop"
    assert usage is not None and plain.usage is not None
    assert usage.model_dump() == plain.usage.model_dump()
    entry = openai_sim.ledger.last()
    assert entry.stream and entry.chunks_sent == 20 + 4  # role, finish, usage, [DONE]
    assert not entry.disconnected


async def test_stream_without_include_usage_has_no_usage_chunk(openai_sim: Simulator) -> None:
    stream = await client(openai_sim).chat.completions.create(model="m", messages=USER,
                                                              stream=True)
    chunks = [c async for c in stream]
    assert all(c.usage is None for c in chunks) and all(c.choices for c in chunks)


@pytest.mark.parametrize(
    ("content", "choice", "called"),
    [
        ("please use a tool", "auto", True),
        ("just chat", "auto", False),
        ("just chat", "required", True),
        ("use the tool", "none", False),
        ("just chat", {"type": "function", "function": {"name": "get_weather"}}, True),
    ],
)
async def test_tool_calls(openai_sim: Simulator, content: str,
                          choice: ChatCompletionToolChoiceOptionParam, called: bool) -> None:
    done = await client(openai_sim).chat.completions.create(
        model="m", messages=[{"role": "user", "content": content}], tools=[WEATHER],
        tool_choice=choice,
    )
    calls = done.choices[0].message.tool_calls
    if not called:
        assert calls is None and done.choices[0].finish_reason == "stop"
        return
    assert calls is not None and done.choices[0].finish_reason == "tool_calls"
    call = calls[0]
    assert call.type == "function"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "sim", "days": 1}


async def test_tool_call_stream_reassembles(openai_sim: Simulator) -> None:
    stream = await client(openai_sim).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "tool please"}], tools=[WEATHER],
        stream=True,
    )
    args: list[str] = []
    name = None
    async for chunk in stream:
        for choice in chunk.choices:
            for call in choice.delta.tool_calls or ():
                if call.function and call.function.name:
                    name = call.function.name
                if call.function and call.function.arguments:
                    args.append(call.function.arguments)
    assert name == "get_weather" and len(args) > 1
    assert json.loads("".join(args)) == {"city": "sim", "days": 1}


async def test_json_modes(openai_sim: Simulator) -> None:
    sdk = client(openai_sim)
    obj = await sdk.chat.completions.create(
        model="m", messages=USER, response_format={"type": "json_object"}
    )
    assert isinstance(json.loads(obj.choices[0].message.content or ""), dict)
    schema: dict[str, object] = {"type": "object", "properties": {"answer": {"type": "string"},
                                               "score": {"type": "number"}},
              "required": ["answer", "score"]}
    typed = await sdk.chat.completions.create(
        model="m", messages=USER,
        response_format={"type": "json_schema", "json_schema": {"name": "r", "schema": schema}},
    )
    assert json.loads(typed.choices[0].message.content or "") == {"answer": "sim", "score": 1.5}


async def test_embeddings_float_and_base64(openai_sim: Simulator) -> None:
    sdk = client(openai_sim)
    b64 = await sdk.embeddings.create(model="emb", input=["a", "b"])  # SDK asks for base64
    flt = await sdk.embeddings.create(model="emb", input=["a", "b"], encoding_format="float",
                                      dimensions=4)
    validate("CreateEmbeddingResponse", flt.model_dump())
    assert [len(d.embedding) for d in b64.data] == [8, 8]
    assert [len(d.embedding) for d in flt.data] == [4, 4]
    again = await sdk.embeddings.create(model="emb", input="a", encoding_format="float")
    assert again.data[0].embedding == pytest.approx(b64.data[0].embedding, rel=1e-6)
    assert b64.data[0].embedding != b64.data[1].embedding
    assert flt.usage.prompt_tokens == 2


async def test_models(openai_sim: Simulator) -> None:
    sdk = client(openai_sim)
    page = await sdk.models.list()
    validate("ListModelsResponse", {"object": "list", "data": [m.model_dump() for m in page.data]})
    assert "gpt-4o-mini" in [m.id for m in page.data]
    one = await sdk.models.retrieve("gpt-x")
    assert one.id == "gpt-x"


async def test_validation_errors(openai_sim: Simulator, http: aiohttp.ClientSession) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        await client(openai_sim).chat.completions.create(model="m", messages=[])
    assert err.value.status_code == 400
    url = openai_sim.base_url + "/chat/completions"
    auth = {"authorization": "Bearer sk-x"}
    async with http.post(url, data=b"{bad", headers=auth) as resp:
        body = await resp.json()
        assert resp.status == 400 and body["error"]["type"] == "invalid_request_error"
        assert set(body["error"]) == {"message", "type", "param", "code"}
    async with http.post(url, json={"model": "m", "messages": USER}) as resp:
        body = await resp.json()
        assert resp.status == 401 and body["error"]["code"] == "invalid_api_key"
    assert openai_sim.ledger.last().auth_present is False
    async with http.post(openai_sim.base_url + "/nope", json={}, headers=auth) as resp:
        assert resp.status == 404
