"""Upstream redirects are never followed: a provider answering 302 (or a chain) towards an
internal address gets a 502 for the client and the redirect target sees no request."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from portico.config.model import (
    DeploymentConfig,
    ModelGroupConfig,
    PorticoConfig,
    ProviderConfig,
    RetryConfig,
    StoreConfig,
    UpstreamKeyConfig,
)
from portico.server.gateway import build_gateway
from tests.support.gateway import serve_gateway

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
KEY_VAR = "PORTICO_TEST_REDIRECT_KEY"
MASTER_VAR = "PORTICO_TEST_REDIRECT_MASTER"


async def _site(handler: Handler) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


@pytest.fixture
async def servers() -> AsyncIterator[tuple[str, list[str]]]:
    hits: list[str] = []

    async def metadata(request: web.Request) -> web.StreamResponse:
        hits.append(request.path)
        return web.json_response({"secret": "instance credentials"})

    inner_runner, inner = await _site(metadata)

    async def redirector(request: web.Request) -> web.StreamResponse:
        # A chain: /v1/... -> /hop -> the "metadata" server.
        target = f"{inner}/latest/meta-data/" if request.path == "/hop" else "/hop"
        raise web.HTTPFound(target)

    outer_runner, outer = await _site(redirector)
    try:
        yield outer, hits
    finally:
        await outer_runner.cleanup()
        await inner_runner.cleanup()


@pytest.mark.parametrize("stream", [False, True])
async def test_redirects_are_not_followed(tmp_path: Path, servers: tuple[str, list[str]],
                                          stream: bool) -> None:
    outer, hits = servers
    os.environ[KEY_VAR] = "redirect-test-" + os.urandom(8).hex()
    os.environ[MASTER_VAR] = "sk-master-" + os.urandom(12).hex()
    cfg = PorticoConfig(
        master_key=f"env:{MASTER_VAR}",
        # internal: the loopback "provider" is allowed only because it is marked so.
        providers={"openai": ProviderConfig(base_url=outer + "/v1", internal=True,
                                            keys=[UpstreamKeyConfig(id="k",
                                                                    key=f"env:{KEY_VAR}")])},
        models=[ModelGroupConfig(name="m", deployments=[
            DeploymentConfig(provider="openai", model="gpt-4o-mini")])],
        retry=RetryConfig(max_attempts=1),
        store=StoreConfig(url=f"sqlite:///{tmp_path}/r.db", journal_path=f"{tmp_path}/j"),
    )
    gw = await build_gateway(cfg)
    try:
        key, _ = await gw.keys.create(name="r")
        async with serve_gateway(gw, cfg) as root, aiohttp.ClientSession() as http:
            body = {"model": "m", "stream": stream,
                    "messages": [{"role": "user", "content": "hi"}]}
            async with http.post(root + "/v1/chat/completions", json=body,
                                 headers={"Authorization": f"Bearer {key}"}) as r:
                status, text = r.status, await r.text()
    finally:
        await gw.close()
    assert status == 502, text
    assert hits == []
    assert "instance credentials" not in text and "127.0.0.1" not in text
