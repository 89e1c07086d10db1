"""Every fault knob, per request header and through the control API, as clients observe it."""

from __future__ import annotations

import asyncio
import json
import time
from email.utils import parsedate_to_datetime

import aiohttp
import anthropic
import openai
import pytest
from anthropic.types import MessageParam
from openai.types.chat import ChatCompletionMessageParam

from portico.simulate import Simulator
from tests.integration.simulate.conftest import wait_for_entry

USER: list[ChatCompletionMessageParam] = [{"role": "user", "content": "fault injection test"}]
A_USER: list[MessageParam] = [{"role": "user", "content": "fault injection test"}]
CHAT = {"model": "gpt-x", "messages": USER}
AUTH = {"authorization": "Bearer sk-test"}


def sdk(sim: Simulator, timeout: float = 30.0) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=sim.base_url, api_key="sk-test", max_retries=0,
                              timeout=timeout)


def fault(spec: str) -> dict[str, str]:
    return {**AUTH, "x-sim-fault": spec}


async def test_status_with_provider_error_body(openai_sim: Simulator) -> None:
    with pytest.raises(openai.InternalServerError) as err:
        await sdk(openai_sim).chat.completions.create(
            model="m", messages=USER, extra_headers={"x-sim-fault": "status=503"})
    assert err.value.status_code == 503
    assert isinstance(err.value.body, dict) and err.value.body["type"] == "server_error"
    entry = openai_sim.ledger.last()
    assert entry.status == 503 and entry.fault is not None and entry.fault.status == 503


async def test_retry_after_forms(openai_sim: Simulator, http: aiohttp.ClientSession) -> None:
    url = openai_sim.base_url + "/chat/completions"
    async with http.post(url, json=CHAT, headers=fault("status=429;retry_after=2")) as r:
        body = await r.json()
        assert r.status == 429 and r.headers["retry-after"] == "2"
        assert body["error"]["code"] == "rate_limit_exceeded"
    async with http.post(url, json=CHAT, headers=fault("status=429;retry_after_ms=1500")) as r:
        assert r.headers["retry-after-ms"] == "1500" and "retry-after" not in r.headers
    async with http.post(url, json=CHAT, headers=fault("status=429;retry_after_date=30")) as r:
        when = parsedate_to_datetime(r.headers["retry-after"]).timestamp()
        assert 0 < when - time.time() <= 31
    async with http.post(url, json=CHAT, headers=fault("status=429")) as r:
        assert r.status == 429 and "retry-after" not in r.headers
    async with http.post(url, json=CHAT, headers=fault('{"status":429,"error_type":'
                                                       '"insufficient_quota"}')) as r:
        assert (await r.json())["error"]["type"] == "insufficient_quota"


async def test_anthropic_529_and_gemini_retry_info(
    anthropic_sim: Simulator, gemini_sim: Simulator, http: aiohttp.ClientSession
) -> None:
    client = anthropic.AsyncAnthropic(base_url=anthropic_sim.root_url, api_key="k", max_retries=0)
    with pytest.raises(anthropic.OverloadedError) as err:
        await client.messages.create(model="c", max_tokens=5, messages=A_USER,
                                     extra_headers={"x-sim-fault": "status=529"})
    assert isinstance(err.value.body, dict)
    assert err.value.body["error"]["type"] == "overloaded_error"
    url = gemini_sim.base_url + "/models/g:generateContent"
    body = {"contents": [{"parts": [{"text": "hi"}]}]}
    headers = {"x-goog-api-key": "k", "x-sim-fault": "status=429;retry_after=7"}
    async with http.post(url, json=body, headers=headers) as r:
        out = await r.json()
        assert r.status == 429 and "retry-after" not in r.headers
    assert out["error"]["status"] == "RESOURCE_EXHAUSTED"
    retry = [d for d in out["error"]["details"] if d["@type"].endswith("RetryInfo")]
    assert retry == [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}]


async def test_html_and_malformed(openai_sim: Simulator, http: aiohttp.ClientSession) -> None:
    url = openai_sim.base_url + "/chat/completions"
    async with http.post(url, json=CHAT, headers=fault("html;status=503")) as r:
        assert r.status == 503 and r.headers["content-type"].startswith("text/html")
        assert "<html>" in await r.text()
    async with http.post(url, json=CHAT, headers=fault("malformed")) as r:
        assert r.status == 200
        with pytest.raises(json.JSONDecodeError):
            json.loads(await r.text())
    with pytest.raises((openai.APIError, json.JSONDecodeError)):
        await sdk(openai_sim).chat.completions.create(
            model="m", messages=USER, extra_headers={"x-sim-fault": "malformed"})


async def test_cut_after_non_stream_sends_truncated_body(openai_sim: Simulator,
                                                         http: aiohttp.ClientSession) -> None:
    url = openai_sim.base_url + "/chat/completions"
    with pytest.raises(aiohttp.ClientPayloadError):
        async with http.post(url, json=CHAT, headers=fault("cut_after=0")) as r:
            assert r.status == 200
            await r.read()


async def test_cut_stream_raises_in_sdk(openai_sim: Simulator) -> None:
    got: list[str] = []
    with pytest.raises(Exception) as err:
        stream = await sdk(openai_sim).chat.completions.create(
            model="m", messages=USER, stream=True, extra_headers={"x-sim-fault": "cut_after=5"})
        async for chunk in stream:
            got.extend(c.delta.content or "" for c in chunk.choices)
    assert not isinstance(err.value, AssertionError)
    assert 0 < len(got) <= 5
    entry = openai_sim.ledger.last()
    assert entry.chunks_sent == 5 and not entry.disconnected


async def test_in_band_error_mid_stream(openai_sim: Simulator, anthropic_sim: Simulator) -> None:
    seen = 0
    with pytest.raises(openai.APIError) as err:
        stream = await sdk(openai_sim).chat.completions.create(
            model="m", messages=USER, stream=True,
            extra_headers={"x-sim-fault": "in_band_error=3"})
        async for _ in stream:
            seen += 1
    assert seen == 3 and isinstance(err.value.body, dict)
    assert err.value.body["type"] == "server_error"
    client = anthropic.AsyncAnthropic(base_url=anthropic_sim.root_url, api_key="k", max_retries=0)
    with pytest.raises(anthropic.APIStatusError) as aerr:
        async with client.messages.stream(
            model="c", max_tokens=50, messages=A_USER,
            extra_headers={"x-sim-fault": "in_band_error=4"},
        ) as astream:
            async for _ in astream:
                pass
    assert "overloaded_error" in str(aerr.value.body)


async def test_chunks_and_tokens_knobs(openai_sim: Simulator) -> None:
    stream = await sdk(openai_sim).chat.completions.create(
        model="m", messages=USER, stream=True, stream_options={"include_usage": True},
        extra_headers={"x-sim-fault": "chunks=5;tokens=10;gap_ms=1;ttft_ms=1"})
    content = 0
    usage = None
    async for chunk in stream:
        content += sum(1 for c in chunk.choices if c.delta.content)
        usage = chunk.usage or usage
    assert content == 5
    assert usage is not None and usage.completion_tokens == 10


async def test_hang_with_client_timeout_recorded_as_disconnect(openai_sim: Simulator) -> None:
    before = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        await sdk(openai_sim, timeout=0.3).chat.completions.create(
            model="m", messages=USER, extra_headers={"x-sim-fault": "hang"})
    entry = await wait_for_entry(openai_sim, lambda e: e.disconnected)
    assert entry.status is None and entry.disconnected_at is not None
    assert entry.disconnected_at > before


async def test_latency_then_client_leaves(openai_sim: Simulator) -> None:
    with pytest.raises(openai.APITimeoutError):
        await sdk(openai_sim, timeout=0.2).chat.completions.create(
            model="m", messages=USER, extra_headers={"x-sim-fault": "latency_ms=30000"})
    entry = await wait_for_entry(openai_sim, lambda e: e.disconnected)
    assert entry.status is None


async def test_client_cancel_mid_stream_is_detected(openai_sim: Simulator,
                                                    http: aiohttp.ClientSession) -> None:
    url = openai_sim.base_url + "/chat/completions"
    body = {**CHAT, "stream": True}
    async with http.post(url, json=body, headers=fault("gap_ms=50")) as r:
        await r.content.readuntil(b"\n\n")
        await r.content.readuntil(b"\n\n")
        r.close()
    entry = await wait_for_entry(openai_sim, lambda e: e.disconnected)
    assert entry.status == 200 and 2 <= entry.chunks_sent < 24
    assert entry.disconnected_at is not None and entry.finished_at is not None


async def test_reset_closes_before_any_response(openai_sim: Simulator,
                                                http: aiohttp.ClientSession) -> None:
    url = openai_sim.base_url + "/chat/completions"
    with pytest.raises(aiohttp.ClientError):
        async with http.post(url, json=CHAT, headers=fault("reset")) as r:
            await r.read()
    with pytest.raises(openai.APIConnectionError):
        await sdk(openai_sim).chat.completions.create(
            model="m", messages=USER, extra_headers={"x-sim-fault": "reset"})
    assert openai_sim.ledger.last().status is None


async def test_invalid_fault_header_is_400(openai_sim: Simulator,
                                           http: aiohttp.ClientSession) -> None:
    url = openai_sim.base_url + "/chat/completions"
    async with http.post(url, json=CHAT, headers=fault("explode=1")) as r:
        assert r.status == 400 and "explode" in (await r.json())["error"]["message"]


async def test_control_api_queue_with_times_and_model(openai_sim: Simulator,
                                                      http: aiohttp.ClientSession) -> None:
    root = openai_sim.root_url
    rules = [{"times": 2, "model": "gpt-x", "status": 503}, {"status": 500}]
    async with http.post(root + "/_sim/faults", json=rules) as r:
        assert r.status == 200 and len((await r.json())["pending"]) == 2
    url = openai_sim.base_url + "/chat/completions"

    async def call(model: str) -> int:
        async with http.post(url, json={**CHAT, "model": model}, headers=AUTH) as r:
            return r.status

    assert await call("other") == 500  # the unscoped rule, consumed
    assert [await call("gpt-x") for _ in range(3)] == [503, 503, 200]
    assert await call("other") == 200
    async with http.post(root + "/_sim/faults", json={"status": 502, "times": None}) as r:
        assert r.status == 200
    assert await call("any") == 502 and await call("any") == 502
    async with http.delete(root + "/_sim/faults") as r:
        assert (await r.json())["pending"] == []
    assert await call("any") == 200
    async with http.post(root + "/_sim/faults", json={"bogus": True}) as r:
        assert r.status == 400


async def test_ledger_api(openai_sim: Simulator, http: aiohttp.ClientSession) -> None:
    url = openai_sim.base_url + "/chat/completions"
    headers = {**AUTH, "x-request-id": "abc-1", "x-sim-fault": "status=418"}
    async with http.post(url, json=CHAT, headers=headers) as r:
        assert r.status == 418
    async with http.get(openai_sim.root_url + "/_sim/ledger") as r:
        ledger = await r.json()
    assert ledger["total"] == 1
    (entry,) = ledger["entries"]
    assert entry["request_id"] == "abc-1" and entry["body"] == CHAT
    assert entry["auth_present"] is True and "authorization" not in entry["headers"]
    assert "sk-test" not in json.dumps(ledger)
    assert entry["fault"] == {"status": 418} and entry["status"] == 418
    async with http.delete(openai_sim.root_url + "/_sim/ledger") as r:
        assert (await r.json())["entries"] == []
    assert len(openai_sim.ledger) == 0


async def test_ledger_is_bounded() -> None:
    async with Simulator("openai", ledger_size=3) as sim, aiohttp.ClientSession() as http:
        for _ in range(5):
            async with http.get(sim.base_url + "/models", headers=AUTH) as r:
                assert r.status == 200
        assert len(sim.ledger) == 3 and sim.ledger.total == 5


async def test_queued_faults_via_python_api(openai_sim: Simulator) -> None:
    from portico.simulate import FaultRule

    openai_sim.faults.push(FaultRule(status=429, retry_after=1))
    with pytest.raises(openai.RateLimitError) as err:
        await sdk(openai_sim).chat.completions.create(model="m", messages=USER)
    assert err.value.response.headers["retry-after"] == "1"
    await asyncio.sleep(0)
    ok = await sdk(openai_sim).chat.completions.create(model="m", messages=USER)
    assert ok.choices
