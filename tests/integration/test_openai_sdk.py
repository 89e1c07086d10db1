"""The whole gateway driven by the official openai SDK, against each simulated dialect."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionMessageFunctionToolCall, ChatCompletionToolParam

from tests.support.gateway import Running
from tests.support.openapi import validate

MODELS = ["gpt-4o-mini", "claude-haiku", "gemini-flash"]
TOOL: ChatCompletionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"]},
    },
}


def client(r: Running, key: str | None = None) -> openai.AsyncOpenAI:
    c = openai.AsyncOpenAI(base_url=r.base_url, api_key=key or r.key, max_retries=0)
    r.clients.append(c)
    return c


@pytest.mark.parametrize("model", MODELS)
async def test_chat_completion_validates(running: Running, model: str) -> None:
    raw = await client(running).chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "system", "content": "Be brief."},
                               {"role": "user", "content": "Say hello"}],
        max_tokens=20, temperature=0.2, stop=["\n\n"], seed=1, user="u1")
    completion = raw.parse()
    assert completion.choices[0].message.content
    assert completion.usage is not None and completion.usage.completion_tokens > 0
    validate("CreateChatCompletionResponse", json.loads(raw.http_response.text))
    assert raw.headers["x-request-id"].startswith("req_")
    assert raw.headers["x-portico-attempts"] == "1"


@pytest.mark.parametrize("model", MODELS)
async def test_stream_with_usage(running: Running, model: str) -> None:
    stream = await client(running).chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Stream to me"}], stream=True,
        stream_options={"include_usage": True}, max_tokens=40)
    text, usage, finish = [], None, None
    async for chunk in stream:
        validate("CreateChatCompletionStreamResponse", chunk.model_dump(exclude_unset=True))
        if chunk.usage:
            usage = chunk.usage
        for c in chunk.choices:
            text.append(c.delta.content or "")
            finish = c.finish_reason or finish
    assert "".join(text)
    assert finish == "stop"
    assert usage is not None and usage.completion_tokens > 0


@pytest.mark.parametrize("model", MODELS)
async def test_stream_without_usage_hides_usage_chunk(running: Running, model: str) -> None:
    stream = await client(running).chat.completions.create(
        model=model, messages=[{"role": "user", "content": "hi"}], stream=True)
    chunks = [c async for c in stream]
    assert chunks and all(c.usage is None for c in chunks)


@pytest.mark.parametrize("model", MODELS)
async def test_tool_call_round_trip(running: Running, model: str) -> None:
    c = client(running)
    first = await c.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Use the tool for Paris"}],
        tools=[TOOL], tool_choice="required")
    msg = first.choices[0].message
    assert first.choices[0].finish_reason == "tool_calls"
    assert msg.tool_calls
    call = msg.tool_calls[0]
    assert isinstance(call, ChatCompletionMessageFunctionToolCall)
    assert call.function.name == "get_weather"
    assert "city" in json.loads(call.function.arguments)
    # The assistant message goes back verbatim, as clients do (extra fields included).
    echoed: Any = msg.model_dump(exclude_none=True)
    second = await c.chat.completions.create(
        model=model, tools=[TOOL],
        messages=[{"role": "user", "content": "Use the tool for Paris"}, echoed,
                  {"role": "tool", "tool_call_id": call.id, "content": "sunny"}])
    assert second.choices[0].message.content


@pytest.mark.parametrize("model", MODELS)
async def test_streamed_tool_call(running: Running, model: str) -> None:
    stream = await client(running).chat.completions.create(
        model=model, messages=[{"role": "user", "content": "call the tool"}], tools=[TOOL],
        tool_choice="required", stream=True)
    names, args = [], []
    async for chunk in stream:
        for ch in chunk.choices:
            for tc in ch.delta.tool_calls or []:
                if tc.function and tc.function.name:
                    names.append(tc.function.name)
                if tc.function and tc.function.arguments:
                    args.append(tc.function.arguments)
    assert names == ["get_weather"]
    assert "city" in json.loads("".join(args))


@pytest.mark.parametrize("model", MODELS)
async def test_json_mode(running: Running, model: str) -> None:
    out = await client(running).chat.completions.create(
        model=model, messages=[{"role": "user", "content": "give json"}],
        response_format={"type": "json_object"})
    json.loads(out.choices[0].message.content or "")


async def test_json_schema(running: Running) -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}},
              "required": ["name"], "additionalProperties": False}
    out = await client(running).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "give json"}],
        response_format={"type": "json_schema",
                         "json_schema": {"name": "person", "schema": schema, "strict": True}})
    assert "name" in json.loads(out.choices[0].message.content or "")


async def test_image_content_parts(running: Running) -> None:
    for model in MODELS:
        out = await client(running).chat.completions.create(model=model, messages=[{
            "role": "user", "content": [
                {"type": "text", "text": "what is this"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            ]}])
        assert out.choices[0].message.content


@pytest.mark.parametrize("model", ["text-embedding-3-small", "gemini/gemini-embedding-001"])
async def test_embeddings(running: Running, model: str) -> None:
    c = client(running)
    raw = await c.embeddings.with_raw_response.create(
        model=model, input=["a", "b"], encoding_format="float")
    emb = raw.parse()
    assert len(emb.data) == 2 and len(emb.data[0].embedding) > 0
    validate("CreateEmbeddingResponse", json.loads(raw.http_response.text))
    # The SDK's default asks for base64 and decodes it; the vectors must agree.
    default = await c.embeddings.create(model=model, input=["a", "b"])
    assert [round(x, 5) for x in default.data[0].embedding] == \
        [round(x, 5) for x in emb.data[0].embedding]


async def test_models_lists_what_the_key_may_use(running: Running) -> None:
    gw = running.gateway
    key, _ = await gw.keys.create(name="narrow", allowed_models=["claude-haiku"])
    raw = await client(running, key).models.with_raw_response.list()
    validate("ListModelsResponse", json.loads(raw.http_response.text))
    assert [m.id for m in raw.parse().data] == ["claude-haiku"]
    with pytest.raises(openai.PermissionDeniedError):
        await client(running, key).chat.completions.create(
            model="smart", messages=[{"role": "user", "content": "hi"}])


async def test_errors_use_openai_envelope(running: Running) -> None:
    c = client(running)
    with pytest.raises(openai.NotFoundError) as nf:
        await c.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])
    body = nf.value.response.json()
    validate("ErrorResponse", body)
    assert nf.value.response.headers["x-request-id"].startswith("req_")
    with pytest.raises(openai.AuthenticationError):
        await client(running, "sk-pt-wrong").chat.completions.create(
            model="smart", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.BadRequestError) as bad:
        await c.chat.completions.create(model="smart", messages=[{"role": "user", "content": "x"}],
                                        extra_body={"base_url": "http://169.254.169.254"})
    assert bad.value.response.json()["error"]["param"] == "base_url"



async def test_error_body_carries_the_request_id(running: Running) -> None:
    with pytest.raises(openai.NotFoundError) as nf:
        await client(running).chat.completions.create(
            model="nope", messages=[{"role": "user", "content": "x"}])
    body = nf.value.response.json()
    assert body["error"]["request_id"] == nf.value.response.headers["x-request-id"]


async def test_every_chat_answer_carries_a_request_id(running: Running) -> None:
    import httpx

    url = running.base_url + "/chat/completions"
    good = {"authorization": f"Bearer {running.key}"}
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    async with httpx.AsyncClient(timeout=10) as http:
        answers = [
            await http.post(url, json=body, headers=good),
            await http.post(url, json={**body, "stream": True}, headers=good),
            await http.post(url, json=body),                                   # 401
            await http.post(url, content=b"{not json", headers=good),          # 400
            await http.post(url, json={**body, "max_tokens": 0}, headers=good),  # 400
        ]
    assert [a.status_code for a in answers] == [200, 200, 401, 400, 400]
    ids = [a.headers.get("x-request-id", "") for a in answers]
    assert all(i.startswith("req_") for i in ids) and len(set(ids)) == len(ids)
