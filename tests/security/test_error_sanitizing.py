"""Upstream error bodies that echo the Authorization header, the provider key, the system
prompt or a stack trace never reach the client; a 400's own message survives, sanitized."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from portico.cli.demo import UPSTREAM_KEY_VAR
from portico.simulate.faults import FaultRule
from tests.security.conftest import no_retries, tweaked_gateway
from tests.support.gateway import Running

SYSTEM = "SYSPROMPT-7f3a You are the internal pricing bot; never reveal margin tables."
MODELS = {"gpt-4o-mini": "openai", "claude-haiku": "anthropic", "gemini-flash": "gemini"}
UPSTREAM_KEY = "cnry-prov-" + os.urandom(12).hex()


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Running]:
    async with tweaked_gateway(tmp_path, no_retries, upstream_key=UPSTREAM_KEY) as r:
        assert os.environ[UPSTREAM_KEY_VAR] == UPSTREAM_KEY
        yield r


def echo(with_trace: bool = False) -> str:
    text = (f"Invalid request. Received headers {{'authorization': 'Bearer {UPSTREAM_KEY}', "
            f"'x-api-key': '{UPSTREAM_KEY}', 'cookie': 'sid=abc; k={UPSTREAM_KEY}'}} "
            f"Authorization: Bearer {UPSTREAM_KEY} api-key={UPSTREAM_KEY} "
            f"key {UPSTREAM_KEY} for system prompt: {SYSTEM}")
    if with_trace:
        text += '\nTraceback (most recent call last):\n  File "/srv/api/handler.py", line 88'
    return text


async def chat(http: aiohttp.ClientSession, r: Running, model: str,
               stream: bool = False) -> tuple[int, str, dict[str, str]]:
    body = {"model": model, "stream": stream, "max_tokens": 60,
            "messages": [{"role": "system", "content": SYSTEM},
                         {"role": "user", "content": "hi"}]}
    async with http.post(r.base_url + "/chat/completions", json=body,
                         headers={"Authorization": f"Bearer {r.key}"}) as resp:
        return resp.status, await resp.text(), {k.lower(): v for k, v in resp.headers.items()}


def assert_clean(text: str, *, system_allowed: bool = False) -> None:
    for leak in (UPSTREAM_KEY, "Bearer", "Traceback", "handler.py", "sid=abc"):
        assert leak not in text, (leak, text)
    if not system_allowed:
        assert "SYSPROMPT" not in text and "margin tables" not in text, text


@pytest.mark.parametrize("model", list(MODELS))
@pytest.mark.parametrize("status,client_status", [(401, 502), (403, 502), (500, 503),
                                                  (503, 503), (429, 429)])
async def test_upstream_echo_never_reaches_client(gw: Running, http: aiohttp.ClientSession,
                                                  model: str, status: int,
                                                  client_status: int) -> None:
    gw.sims[MODELS[model]].faults.push(FaultRule(status=status, message=echo(), times=None))
    code, text, headers = await chat(http, gw, model)
    assert code == client_status, text
    assert headers["x-request-id"].startswith("req_")
    # 429 keeps the provider's (sanitized) message; it may mention the caller's own prompt.
    assert_clean(text + str(headers), system_allowed=status == 429)


@pytest.mark.parametrize("model", list(MODELS))
async def test_400_passthrough_is_sanitized(gw: Running, http: aiohttp.ClientSession,
                                            model: str) -> None:
    gw.sims[MODELS[model]].faults.push(FaultRule(status=400, message=echo(), times=None))
    code, text, _ = await chat(http, gw, model)
    assert code == 400
    assert "Invalid request" in text        # the provider's own words survive
    assert_clean(text, system_allowed=True)


@pytest.mark.parametrize("model", list(MODELS))
@pytest.mark.parametrize("status", [400, 500])
async def test_stack_traces_are_withheld(gw: Running, http: aiohttp.ClientSession, model: str,
                                         status: int) -> None:
    gw.sims[MODELS[model]].faults.push(FaultRule(status=status, message=echo(True), times=None))
    code, text, _ = await chat(http, gw, model)
    assert code in (400, 503)
    assert_clean(text)


async def test_html_error_pages_are_withheld(gw: Running, http: aiohttp.ClientSession) -> None:
    gw.sims["openai"].faults.push(FaultRule(status=400, html=True, times=None))
    code, text, _ = await chat(http, gw, "gpt-4o-mini")
    assert code == 400 and "<" not in text and "html" not in text.lower()


@pytest.mark.parametrize("model", list(MODELS))
async def test_in_stream_errors_mask_credential_echoes(gw: Running, http: aiohttp.ClientSession,
                                                       model: str) -> None:
    message = (f"overloaded; headers: Authorization: Bearer {UPSTREAM_KEY}, "
               f"x-api-key: {UPSTREAM_KEY}")
    gw.sims[MODELS[model]].faults.push(FaultRule(in_band_error=6, chunks=12, tokens=40,
                                                 message=message))
    code, text, _ = await chat(http, gw, model, stream=True)
    # Mid-stream (200 + a terminal error event) or, when the error beat the first content
    # byte, a JSON error: either way no credential.
    assert code in (200, 503) and "error" in text
    assert UPSTREAM_KEY not in text


