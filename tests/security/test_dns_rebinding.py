"""DNS rebinding, end to end through the official openai SDK: a non-internal provider's hostname
answers a public address when the config is loaded and 127.0.0.1 (where a simulator listens)
when the gateway connects. The client gets a clear, sanitized error and the simulator sees no
request; another deployment is tried at once; an internal provider on the same name still works.

The fake DNS replaces socket.getaddrinfo, which both the load-time check (config/urls.py) and
aiohttp's threaded resolver (under the guard) call, so the gateway is built by build_gateway as
in production. The test asserts the fake answered both times, so it cannot pass vacuously."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import openai
import pytest

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
from portico.simulate.runner import Simulator
from tests.support.gateway import serve_gateway

REBIND_HOST = "llm.rebind-test.example"
PUBLIC = "93.184.216.34"       # what the name answers at config load (never connected to)
KEY_VAR = "PORTICO_TEST_REBIND_KEY"
MASTER_VAR = "PORTICO_TEST_REBIND_MASTER"
GetAddrInfo = Callable[..., list[Any]]


class FakeDns:
    """socket.getaddrinfo for REBIND_HOST: the scripted answers in turn, the last one repeating
    (public first, then loopback). Every other name goes to the real function (the gateway
    and the simulators are on 127.0.0.1)."""

    def __init__(self, real: GetAddrInfo) -> None:
        self._real = real
        self._lock = threading.Lock()     # aiohttp's threaded resolver calls from a pool thread
        self.script = [PUBLIC, "127.0.0.1"]
        self.answers: list[str] = []

    def __call__(self, host: Any, port: Any, family: int = 0, type: int = 0,
                 proto: int = 0, flags: int = 0) -> list[Any]:
        if not isinstance(host, str) or host.rstrip(".").lower() != REBIND_HOST:
            return self._real(host, port, family, type, proto, flags)
        with self._lock:
            address = self.script[min(len(self.answers), len(self.script) - 1)]
            self.answers.append(address)
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "",
                 (address, int(port or 0)))]


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    fake = FakeDns(socket.getaddrinfo)
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_VAR, "rebind-test-" + os.urandom(8).hex())
    monkeypatch.setenv(MASTER_VAR, "sk-master-" + os.urandom(12).hex())


@pytest.fixture
async def sims() -> AsyncIterator[tuple[Simulator, Simulator]]:
    async with Simulator("openai") as target, Simulator("openai") as other:
        yield target, other


def _config(tmp: Path, target: Simulator, other: Simulator, *, internal: bool) -> PorticoConfig:
    keys = [UpstreamKeyConfig(id="k", key=f"env:{KEY_VAR}")]
    return PorticoConfig(
        master_key=f"env:{MASTER_VAR}",
        providers={
            # The admin wrote a public-looking name: it passes the load-time check.
            "acme": ProviderConfig(type="openai", keys=keys, internal=internal,
                                   base_url=f"http://{REBIND_HOST}:{target.port}/v1"),
            "selfhosted": ProviderConfig(type="openai", keys=keys, internal=True,
                                         base_url=other.base_url),
        },
        models=[
            ModelGroupConfig(name="m", deployments=[
                DeploymentConfig(provider="acme", model="gpt-4o-mini")]),
            ModelGroupConfig(name="m-with-fallback", deployments=[
                DeploymentConfig(provider="acme", model="gpt-4o-mini"),
                DeploymentConfig(provider="selfhosted", model="gpt-4o-mini")]),
        ],
        retry=RetryConfig(max_attempts=3),
        store=StoreConfig(url=f"sqlite:///{tmp}/r.db", journal_path=f"{tmp}/j"),
    )


async def _ask(tmp: Path, cfg: PorticoConfig, model: str, stream: bool = False) -> Any:
    """The completion (or the SDK's error) for one request through a fresh gateway."""
    gw = await build_gateway(cfg)
    try:
        key, _ = await gw.keys.create(name="rebind")
        async with serve_gateway(gw, cfg) as root:
            client = openai.AsyncOpenAI(base_url=root + "/v1", api_key=key, max_retries=0)
            try:
                raw = await client.chat.completions.with_raw_response.create(
                    model=model, messages=[{"role": "user", "content": "hi"}], stream=stream)
                parsed = raw.parse()
                if isinstance(parsed, openai.AsyncStream):
                    return raw.headers, [c async for c in parsed]
                return raw.headers, parsed
            except openai.APIStatusError as exc:
                return exc.response.headers, exc
            finally:
                await client.close()
    finally:
        await gw.close()


@pytest.mark.parametrize("stream", [False, True])
async def test_rebound_name_is_refused_and_never_reached(
        tmp_path: Path, dns: FakeDns, sims: tuple[Simulator, Simulator], stream: bool,
        caplog: pytest.LogCaptureFixture) -> None:
    target, _ = sims
    with caplog.at_level(logging.WARNING, "portico.upstream"):
        headers, err = await _ask(tmp_path, _config(tmp_path, *sims, internal=False), "m",
                                  stream)
    assert dns.answers[0] == PUBLIC and "127.0.0.1" in dns.answers[1:]
    assert isinstance(err, openai.APIStatusError), err
    assert err.status_code == 502
    assert err.code == "upstream_address_refused"
    # The Dispatcher's label names the provider type (target.provider is its spec).
    assert "could not connect to provider openai" in err.message
    text = err.response.text
    for leak in ("127.0.0.1", PUBLIC, REBIND_HOST, str(target.port)):
        assert leak not in text
    assert headers["x-portico-attempts"] == "1"          # refused, not retried
    assert len(target.ledger) == 0
    logged = [r.getMessage() for r in caplog.records if r.name == "portico.upstream"]
    assert len(logged) == 1
    assert "provider openai" in logged[0] and "127.0.0.1" in logged[0]
    assert REBIND_HOST in logged[0]                   # the name the admin configured


async def test_refusal_fails_over_to_the_next_deployment(
        tmp_path: Path, dns: FakeDns, sims: tuple[Simulator, Simulator]) -> None:
    target, other = sims
    headers, completion = await _ask(tmp_path, _config(tmp_path, *sims, internal=False),
                                     "m-with-fallback")
    assert not isinstance(completion, Exception), completion
    assert completion.choices[0].message.content
    assert headers["x-portico-attempts"] == "2"
    assert len(target.ledger) == 0 and len(other.ledger) == 1
    assert "127.0.0.1" in dns.answers[1:]


async def test_internal_provider_on_loopback_still_works(
        tmp_path: Path, dns: FakeDns, sims: tuple[Simulator, Simulator]) -> None:
    target, _ = sims
    dns.script = ["127.0.0.1"]         # never public: nothing here may leave the machine
    headers, completion = await _ask(tmp_path, _config(tmp_path, *sims, internal=True), "m")
    assert not isinstance(completion, Exception), completion
    assert completion.choices[0].message.content
    assert headers["x-portico-attempts"] == "1"
    assert len(target.ledger) == 1
    assert dns.answers == ["127.0.0.1"]       # internal: no load-time resolution at all
