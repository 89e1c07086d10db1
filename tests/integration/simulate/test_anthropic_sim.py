"""The Anthropic simulator through the official anthropic SDK (create and messages.stream)."""

from __future__ import annotations

import aiohttp
import anthropic
from anthropic.types import MessageParam, ToolParam

from portico.simulate import Simulator

USER: list[MessageParam] = [{"role": "user", "content": "hello claude simulator"}]
TOOL: ToolParam = {
    "name": "lookup",
    "description": "look a thing up",
    "input_schema": {
        "type": "object",
        "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}},
        "required": ["query", "limit"],
    },
}


def client(sim: Simulator) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=sim.root_url, api_key="sk-ant-secret", max_retries=0)


async def test_create_text(anthropic_sim: Simulator) -> None:
    msg = await client(anthropic_sim).messages.create(
        model="claude-x", max_tokens=100, messages=USER, system="be brief"
    )
    assert msg.type == "message" and msg.role == "assistant" and msg.model == "claude-x"
    block = msg.content[0]
    assert block.type == "text" and block.text.startswith("hello claude simulator hello")
    assert msg.stop_reason == "end_turn"
    assert msg.usage.output_tokens == 32
    entry = anthropic_sim.ledger.last()
    assert entry.auth_present and "x-api-key" not in entry.headers
    assert "anthropic-version" in entry.headers


async def test_max_tokens_stop_reason(anthropic_sim: Simulator) -> None:
    msg = await client(anthropic_sim).messages.create(
        model="claude-x", max_tokens=3, messages=USER
    )
    assert msg.stop_reason == "max_tokens" and msg.usage.output_tokens == 3


async def test_stream_text_events_and_usage(anthropic_sim: Simulator) -> None:
    sdk = client(anthropic_sim)
    plain = await sdk.messages.create(model="c", max_tokens=100, messages=USER)
    kinds: list[str] = []
    async with sdk.messages.stream(model="c", max_tokens=100, messages=USER) as stream:
        async for event in stream:
            kinds.append(event.type)
        final = await stream.get_final_message()
    assert kinds[0] == "message_start"
    assert kinds.count("content_block_delta") == 20 or kinds.count("text") == 20
    assert "content_block_start" in kinds and "content_block_stop" in kinds
    assert "message_delta" in kinds and kinds[-1] == "message_stop"
    assert final.content[0].type == "text" and plain.content[0].type == "text"
    assert final.content[0].text == plain.content[0].text
    assert final.usage.output_tokens == plain.usage.output_tokens
    assert final.usage.input_tokens == plain.usage.input_tokens
    assert final.stop_reason == "end_turn"


async def test_stream_has_pings_and_wire_order(anthropic_sim: Simulator,
                                               http: aiohttp.ClientSession) -> None:
    headers = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
    body = {"model": "c", "max_tokens": 100, "messages": USER, "stream": True}
    async with http.post(anthropic_sim.base_url + "/messages", json=body, headers=headers) as r:
        raw = (await r.read()).decode()
    events = [line[len("event: "):] for line in raw.splitlines() if line.startswith("event: ")]
    assert events[:3] == ["message_start", "content_block_start", "ping"]
    assert events.count("ping") >= 2
    assert events[-3:] == ["content_block_stop", "message_delta", "message_stop"]


async def test_tool_use_create_and_stream(anthropic_sim: Simulator) -> None:
    sdk = client(anthropic_sim)
    msg = await sdk.messages.create(
        model="c", max_tokens=100, messages=USER, tools=[TOOL],
        tool_choice={"type": "any"},
    )
    assert msg.stop_reason == "tool_use"
    block = msg.content[0]
    assert block.type == "tool_use" and block.input == {"query": "sim", "limit": 1}
    deltas = 0
    async with sdk.messages.stream(
        model="c", max_tokens=100, tools=[TOOL],
        messages=[{"role": "user", "content": "use a tool"}],
    ) as stream:
        async for event in stream:
            if event.type == "input_json":
                deltas += 1
        final = await stream.get_final_message()
    assert deltas > 1
    tool_block = final.content[0]
    assert tool_block.type == "tool_use" and tool_block.name == "lookup"
    assert tool_block.input == {"query": "sim", "limit": 1}
    assert final.stop_reason == "tool_use"


async def test_missing_max_tokens_is_invalid_request(anthropic_sim: Simulator,
                                                     http: aiohttp.ClientSession) -> None:
    headers = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
    async with http.post(anthropic_sim.base_url + "/messages",
                         json={"model": "c", "messages": USER}, headers=headers) as resp:
        body = await resp.json()
    assert resp.status == 400
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    assert "max_tokens" in body["error"]["message"]
    async with http.post(anthropic_sim.base_url + "/messages",
                         json={"model": "c", "max_tokens": 5, "messages": USER}) as resp:
        body = await resp.json()
    assert resp.status == 401 and body["error"]["type"] == "authentication_error"


async def test_count_tokens_and_models(anthropic_sim: Simulator) -> None:
    sdk = client(anthropic_sim)
    counted = await sdk.messages.count_tokens(model="c", messages=USER)
    msg = await sdk.messages.create(model="c", max_tokens=10, messages=USER)
    assert counted.input_tokens == msg.usage.input_tokens
    models = await sdk.models.list()
    assert [m.id for m in models.data]
    assert anthropic_sim.ledger.last().json_body() is None
