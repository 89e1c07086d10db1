"""The upstream client connects through the guarded resolver: a non-internal host resolving to a
loopback server is refused before any byte is sent (typed, sanitized error, one operator log
line); internal hosts and IP literals still connect; admin_get goes through the same guard."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from portico.adapters.base import UpstreamRequest
from portico.errors import UpstreamConnectError
from portico.upstream.client import Timeouts, UpstreamClient, admin_get
from tests.unit.upstream.test_address_guard import FakeDns

TIMEOUTS = Timeouts(connect=5, first_byte=5, idle=5, total=10)
LABEL = "provider acme"


@dataclass
class Upstream:
    port: int
    hits: list[str] = field(default_factory=list)


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    up = Upstream(port=0)

    async def handler(request: web.Request) -> web.StreamResponse:
        up.hits.append(request.path)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    up.port = runner.addresses[0][1]
    try:
        yield up
    finally:
        await runner.cleanup()


def request(url: str) -> UpstreamRequest:
    return UpstreamRequest(method="POST", url=url, headers=(("content-type", "application/json"),),
                           body=b"{}")


async def test_rebound_host_is_refused_before_connecting(
        upstream: Upstream, caplog: pytest.LogCaptureFixture) -> None:
    dns = FakeDns({"api.acme.example": [["127.0.0.1"]]})
    client = UpstreamClient(resolver=dns)
    await client.start()
    try:
        with caplog.at_level(logging.WARNING, "portico.upstream"), \
                pytest.raises(UpstreamConnectError) as exc:
            await client.send(request(f"http://api.acme.example:{upstream.port}/v1/chat"),
                              TIMEOUTS, LABEL)
    finally:
        await client.close()
    err = exc.value
    assert err.code == "upstream_address_refused"
    assert err.failover and not err.retryable        # next deployment now, no retry here
    assert "acme" in err.message
    assert "127.0.0.1" not in err.message and "api.acme.example" not in err.message
    assert upstream.hits == []
    logged = [r for r in caplog.records if r.name == "portico.upstream"]
    assert len(logged) == 1
    assert LABEL in logged[0].getMessage() and "127.0.0.1" in logged[0].getMessage()
    assert dns.closed


async def test_stream_is_guarded_too(upstream: Upstream) -> None:
    client = UpstreamClient(resolver=FakeDns({"api.acme.example": [["::ffff:127.0.0.1"]]}))
    await client.start()
    try:
        with pytest.raises(UpstreamConnectError) as exc:
            async with client.stream(request(f"http://api.acme.example:{upstream.port}/v1"),
                                     TIMEOUTS, LABEL):
                pass
    finally:
        await client.close()
    assert exc.value.code == "upstream_address_refused"
    assert upstream.hits == []


async def test_internal_host_on_loopback_still_works(upstream: Upstream) -> None:
    base = f"http://vllm.corp:{upstream.port}/v1"
    client = UpstreamClient(internal_urls=[base],
                            resolver=FakeDns({"vllm.corp": [["127.0.0.1"]]}))
    await client.start()
    try:
        resp = await client.send(request(base + "/chat/completions"), TIMEOUTS, LABEL)
    finally:
        await client.close()
    assert resp.status == 200
    assert upstream.hits == ["/v1/chat/completions"]


async def test_ip_literal_host_skips_the_resolver(upstream: Upstream) -> None:
    # aiohttp resolves no IP literal: those are checked (and final) at config load.
    dns = FakeDns({})
    base = f"http://127.0.0.1:{upstream.port}/v1"
    client = UpstreamClient(internal_urls=[base], resolver=dns)
    await client.start()
    try:
        resp = await client.send(request(base + "/x"), TIMEOUTS, LABEL)
    finally:
        await client.close()
    assert resp.status == 200 and dns.calls == []


async def test_admin_get_uses_the_guard_trusting_the_named_host(upstream: Upstream) -> None:
    # The CLI's own target (here `localhost`, resolved by aiohttp's resolver) is trusted
    # like an internal provider.
    status, body = await admin_get(f"http://localhost:{upstream.port}/admin/breakers", {})
    assert status == 200 and body == b'{"ok": true}'
    assert upstream.hits == ["/admin/breakers"]


async def test_hex_spelling_through_aiohttps_own_resolver_is_refused(upstream: Upstream) -> None:
    # aiohttp treats `0x7f000001` as a name and getaddrinfo decodes it to 127.0.0.1 (no network).
    client = UpstreamClient()
    await client.start()
    try:
        with pytest.raises(UpstreamConnectError) as exc:
            await client.send(request(f"http://0x7f000001:{upstream.port}/v1"), TIMEOUTS, LABEL)
    finally:
        await client.close()
    assert exc.value.code == "upstream_address_refused"
    assert upstream.hits == []
