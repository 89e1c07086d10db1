"""The Gemini simulator over raw HTTP: generateContent, SSE and array streams, embeddings."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from portico.simulate import Simulator

KEY = {"x-goog-api-key": "AIza-test-secret"}
BODY = {"contents": [{"role": "user", "parts": [{"text": "hello gemini sim"}]}]}
TOOLS = [{"functionDeclarations": [{
    "name": "find",
    "parameters": {"type": "OBJECT", "properties": {"q": {"type": "STRING"}}, "required": ["q"]},
}]}]


async def post(http: aiohttp.ClientSession, sim: Simulator, path: str, body: object,
               headers: dict[str, str] | None = None) -> tuple[int, Any]:
    sent = KEY if headers is None else headers
    async with http.post(sim.base_url + path, json=body, headers=sent) as resp:
        return resp.status, await resp.json(content_type=None)


def sse_events(raw: bytes) -> list[dict[str, Any]]:
    events = []
    for block in raw.decode().split("\r\n\r\n"):
        if block.startswith("data: "):
            events.append(json.loads(block[len("data: "):]))
    return events


async def test_generate_content(gemini_sim: Simulator, http: aiohttp.ClientSession) -> None:
    status, body = await post(http, gemini_sim, "/models/gemini-x:generateContent", BODY)
    assert status == 200
    cand = body["candidates"][0]
    assert cand["content"]["role"] == "model" and cand["finishReason"] == "STOP"
    assert cand["content"]["parts"][0]["text"].startswith("hello gemini sim hello")
    usage = body["usageMetadata"]
    assert usage["candidatesTokenCount"] == 32
    assert usage["totalTokenCount"] == usage["promptTokenCount"] + 32
    entry = gemini_sim.ledger.last()
    assert entry.model == "gemini-x" and entry.auth_present
    assert "x-goog-api-key" not in entry.headers


async def test_max_output_tokens(gemini_sim: Simulator, http: aiohttp.ClientSession) -> None:
    body = {**BODY, "generationConfig": {"maxOutputTokens": 4}}
    _, out = await post(http, gemini_sim, "/models/g:generateContent", body)
    assert out["candidates"][0]["finishReason"] == "MAX_TOKENS"
    assert out["usageMetadata"]["candidatesTokenCount"] == 4


async def test_sse_stream_usage_on_last(gemini_sim: Simulator,
                                        http: aiohttp.ClientSession) -> None:
    _, plain = await post(http, gemini_sim, "/models/g:generateContent", BODY)
    url = gemini_sim.base_url + "/models/g:streamGenerateContent?alt=sse"
    async with http.post(url, json=BODY, headers=KEY) as resp:
        assert resp.headers["content-type"].startswith("text/event-stream")
        events = sse_events(await resp.read())
    assert len(events) == 20
    assert all("usageMetadata" not in e for e in events[:-1])
    assert events[-1]["usageMetadata"] == plain["usageMetadata"]
    assert events[-1]["candidates"][0]["finishReason"] == "STOP"
    text = "".join(e["candidates"][0]["content"]["parts"][0]["text"] for e in events)
    assert text == plain["candidates"][0]["content"]["parts"][0]["text"]
    assert gemini_sim.ledger.last().stream


async def test_stream_without_sse_is_a_json_array(gemini_sim: Simulator,
                                                  http: aiohttp.ClientSession) -> None:
    status, chunks = await post(http, gemini_sim, "/models/g:streamGenerateContent", BODY)
    assert status == 200 and isinstance(chunks, list) and len(chunks) == 20


async def test_function_call_and_json_mode(gemini_sim: Simulator,
                                           http: aiohttp.ClientSession) -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": "call a tool"}]}], "tools": TOOLS}
    _, out = await post(http, gemini_sim, "/models/g:generateContent", body)
    assert out["candidates"][0]["content"]["parts"][0]["functionCall"] == {
        "name": "find", "args": {"q": "sim"}}
    forced = {**BODY, "tools": TOOLS, "toolConfig": {"functionCallingConfig": {"mode": "ANY"}}}
    _, out = await post(http, gemini_sim, "/models/g:generateContent", forced)
    assert "functionCall" in out["candidates"][0]["content"]["parts"][0]
    off = {"contents": body["contents"], "tools": TOOLS,
           "toolConfig": {"functionCallingConfig": {"mode": "NONE"}}}
    _, out = await post(http, gemini_sim, "/models/g:generateContent", off)
    assert "text" in out["candidates"][0]["content"]["parts"][0]
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    js = {**BODY, "generationConfig": {"responseMimeType": "application/json",
                                       "responseJsonSchema": schema}}
    _, out = await post(http, gemini_sim, "/models/g:generateContent", js)
    assert json.loads(out["candidates"][0]["content"]["parts"][0]["text"]) == {"n": 1}


async def test_embeddings(gemini_sim: Simulator, http: aiohttp.ClientSession) -> None:
    reqs = {"requests": [
        {"model": "models/e", "content": {"parts": [{"text": "a"}]}, "outputDimensionality": 3},
        {"model": "models/e", "content": {"parts": [{"text": "b"}]}},
    ]}
    status, out = await post(http, gemini_sim, "/models/e:batchEmbedContents", reqs)
    assert status == 200
    assert [len(e["values"]) for e in out["embeddings"]] == [3, 8]
    _, one = await post(http, gemini_sim, "/models/e:embedContent",
                        {"content": {"parts": [{"text": "b"}]}})
    assert one["embedding"]["values"] == out["embeddings"][1]["values"]


async def test_errors_and_auth(gemini_sim: Simulator, http: aiohttp.ClientSession) -> None:
    status, body = await post(http, gemini_sim, "/models/g:generateContent", BODY, headers={})
    assert status == 403 and body["error"]["status"] == "PERMISSION_DENIED"
    status, _ = await post(http, gemini_sim, "/models/g:generateContent?key=abc", BODY,
                           headers={})
    assert status == 200
    status, body = await post(http, gemini_sim, "/models/g:generateContent", {"contents": 3})
    assert status == 400 and body["error"] == {**body["error"], "code": 400,
                                               "status": "INVALID_ARGUMENT"}
    status, body = await post(http, gemini_sim, "/models/g:unknownAction", BODY)
    assert status == 404 and body["error"]["status"] == "NOT_FOUND"
    async with http.get(gemini_sim.base_url + "/models", headers=KEY) as resp:
        assert [m["name"] for m in (await resp.json())["models"]]
