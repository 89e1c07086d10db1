"""The gateway driven by the official anthropic SDK through /v1/messages, reaching every
dialect behind it (Anthropic, OpenAI and Gemini simulators)."""

from __future__ import annotations

import anthropic
import pytest
from anthropic.types import MessageParam, ToolParam, ToolResultBlockParam, ToolUseBlockParam

from tests.support.gateway import Running

MODELS = ["claude-haiku", "gpt-4o-mini", "gemini-flash"]
TOOL: ToolParam = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                     "required": ["city"]},
}


def client(r: Running, key: str | None = None) -> anthropic.AsyncAnthropic:
    c = anthropic.AsyncAnthropic(base_url=r.root_url, api_key=key or r.key, max_retries=0)
    r.clients.append(c)
    return c


@pytest.mark.parametrize("model", MODELS)
async def test_message(running: Running, model: str) -> None:
    raw = await client(running).messages.with_raw_response.create(
        model=model, max_tokens=50, system="Be brief.",
        messages=[{"role": "user", "content": "Say hello"}])
    msg = await raw.parse()
    assert msg.role == "assistant" and msg.stop_reason == "end_turn"
    assert msg.content[0].type == "text" and msg.content[0].text
    assert msg.usage.output_tokens > 0
    assert raw.headers["x-request-id"].startswith("req_")


@pytest.mark.parametrize("model", MODELS)
async def test_stream_accumulates(running: Running, model: str) -> None:
    async with client(running).messages.stream(
            model=model, max_tokens=40,
            messages=[{"role": "user", "content": "Stream to me"}]) as stream:
        text = "".join([t async for t in stream.text_stream])
        final = await stream.get_final_message()
    assert text and final.content[0].type == "text" and final.content[0].text == text
    assert final.stop_reason == "end_turn" and final.usage.output_tokens > 0


@pytest.mark.parametrize("model", MODELS)
async def test_tool_use_round_trip(running: Running, model: str) -> None:
    c = client(running)
    first = await c.messages.create(
        model=model, max_tokens=100, tools=[TOOL], tool_choice={"type": "any"},
        messages=[{"role": "user", "content": "Use the tool for Paris"}])
    assert first.stop_reason == "tool_use"
    use = next(b for b in first.content if b.type == "tool_use")
    assert use.name == "get_weather" and "city" in use.input
    history: list[MessageParam] = [
        {"role": "user", "content": "Use the tool for Paris"},
        {"role": "assistant", "content": [ToolUseBlockParam(
            type="tool_use", id=use.id, name=use.name, input=use.input)]},
        {"role": "user", "content": [ToolResultBlockParam(
            type="tool_result", tool_use_id=use.id, content="sunny")]},
    ]
    second = await c.messages.create(model=model, max_tokens=100, tools=[TOOL],
                                     messages=history)
    assert second.stop_reason == "end_turn"
    assert second.content[0].type == "text"


async def test_errors_are_anthropic_shaped(running: Running) -> None:
    with pytest.raises(anthropic.NotFoundError) as nf:
        await client(running).messages.create(
            model="nope", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    body = nf.value.response.json()
    assert body["type"] == "error" and body["error"]["type"] == "not_found_error"
    with pytest.raises(anthropic.AuthenticationError):
        await client(running, "sk-pt-wrong").messages.create(
            model="claude-haiku", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    with pytest.raises(anthropic.BadRequestError):
        await client(running).messages.create(
            model="claude-haiku", max_tokens=5, messages=[{"role": "user", "content": "x"}],
            extra_body={"base_url": "http://169.254.169.254"})
