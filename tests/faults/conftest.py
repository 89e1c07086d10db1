"""A whole gateway in-process over the three simulators, with groups shaped for fault tests.

Groups (upstream model names are unique so queued faults can be scoped to one deployment):
  solo     openai/solo-m
  pair     openai/pair-a, then backup/pair-b       (backup: a second OpenAI-type provider)
  claude   anthropic/claude-x
  dead     deadhost/dead-m (nothing listens), then openai/alive-m
  slow     openai/slow-a, backup/slow-b           (small real timeouts)
  short    openai/short-m, whose context_fallback is the group `long` (backup/long-m)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import msgspec
import pytest

from portico.cli.demo import MASTER_KEY_VAR, UPSTREAM_KEY_VAR
from portico.clock import Clock, ManualClock
from portico.config.model import (
    BreakerConfig,
    DeploymentConfig,
    ModelGroupConfig,
    PorticoConfig,
    ProviderConfig,
    RetryConfig,
    StoreConfig,
    TimeoutConfig,
    UpstreamKeyConfig,
)
from portico.server.gateway import Gateway, build_gateway
from portico.simulate.faults import FaultRule
from portico.simulate.ledger import LedgerEntry
from portico.simulate.runner import Simulator
from portico.store.base import LedgerQuery
from portico.store.records import KeySettings, LedgerRow
from tests.support.gateway import serve_gateway

Tweak = Callable[[PorticoConfig], None]
SLOW = TimeoutConfig(connect=0.5, first_token=0.3, idle=0.3, total=0.6)


class OverlapClock(ManualClock):
    """Records sleeps without moving time: concurrent backoffs overlap, as they would for
    real (a ManualClock would add 200 concurrent sleeps end to end)."""

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        await asyncio.sleep(0)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def fault_config(urls: dict[str, str], folder: str) -> PorticoConfig:
    key = [UpstreamKeyConfig(id="k1", key=f"env:{UPSTREAM_KEY_VAR}")]
    providers = {
        "openai": ProviderConfig(base_url=urls["openai"], keys=key, internal=True),
        "backup": ProviderConfig(type="openai", base_url=urls["openai"], keys=key,
                                 internal=True),
        "anthropic": ProviderConfig(base_url=urls["anthropic"], keys=key, internal=True),
        "gemini": ProviderConfig(base_url=urls["gemini"], keys=key, internal=True),
        "deadhost": ProviderConfig(type="openai", keys=key, internal=True,
                                   base_url=f"http://127.0.0.1:{closed_port()}/v1"),
    }

    def dep(provider: str, model: str, **kw: object) -> DeploymentConfig:
        return DeploymentConfig(provider=provider, model=model, **kw)  # type: ignore[arg-type]

    models = [
        ModelGroupConfig(name="solo", deployments=[dep("openai", "solo-m")]),
        ModelGroupConfig(name="pair", deployments=[dep("openai", "pair-a"),
                                                   dep("backup", "pair-b")]),
        ModelGroupConfig(name="claude", deployments=[dep("anthropic", "claude-x")]),
        ModelGroupConfig(name="short", deployments=[dep("openai", "short-m")],
                         context_fallback="long"),
        ModelGroupConfig(name="long", deployments=[dep("backup", "long-m")]),
        ModelGroupConfig(name="dead", deployments=[dep("deadhost", "dead-m"),
                                                   dep("openai", "alive-m")]),
        ModelGroupConfig(name="slow", deployments=[dep("openai", "slow-a", timeouts=SLOW),
                                                   dep("backup", "slow-b", timeouts=SLOW)]),
    ]
    return PorticoConfig(
        master_key=f"env:{MASTER_KEY_VAR}", providers=providers, models=models,
        retry=RetryConfig(), breaker=BreakerConfig(consecutive_failures=1000, min_calls=1000),
        store=StoreConfig(url=f"sqlite:///{folder}/faults.db", journal_path=f"{folder}/journal",
                          flush_interval_ms=10),
    )


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def request_id(self) -> str:
        return self.headers["x-request-id"]

    def json(self) -> object:
        return msgspec.json.decode(self.body)

    def events(self) -> list[str]:
        """SSE blocks (comments included), split on blank lines."""
        return [b for b in self.body.decode().split("\n\n") if b]

    def data(self) -> list[str]:
        return [b[6:] for b in self.events() if b.startswith("data: ")]

    def text(self) -> str:
        out = []
        for d in self.data():
            if d == "[DONE]":
                continue
            obj = msgspec.json.decode(d)
            assert isinstance(obj, dict)
            for c in obj.get("choices", []):
                out.append(c["delta"].get("content") or "")
        return "".join(out)


@dataclass
class Env:
    gw: Gateway
    root: str
    key: str
    sims: dict[str, Simulator]
    clock: Clock
    http: aiohttp.ClientSession

    def push(self, sim: str = "openai", /, **fault: object) -> None:
        self.sims[sim].faults.push(FaultRule(**fault))  # type: ignore[arg-type]

    async def chat(self, model: str, *, stream: bool = False, key: str | None = None,
                   headers: dict[str, str] | None = None, **body: object) -> Reply:
        payload = {"model": model, "messages": [{"role": "user", "content": "hello there"}],
                   "stream": stream, **body}
        async with self.http.post(
            self.root + "/v1/chat/completions", json=payload,
            headers={"authorization": f"Bearer {key or self.key}", **(headers or {})},
        ) as r:
            return Reply(r.status, {k.lower(): v for k, v in r.headers.items()}, await r.read())

    def upstream(self, request_id: str) -> list[LedgerEntry]:
        """Every upstream request the simulators saw for one gateway request."""
        return [e for s in self.sims.values() for e in s.ledger.find(request_id)]

    async def row(self, request_id: str) -> LedgerRow:
        await self.gw.journal.flush()
        rows = await self.gw.store.query_ledger(LedgerQuery(limit=10_000))
        found = [r for r in rows if r.request_id == request_id]
        assert len(found) == 1, f"ledger rows for {request_id}: {found}"
        return found[0]

    async def key_with(self, settings: KeySettings) -> str:
        plain, _ = await self.gw.keys.create(name="k", settings=settings)
        return plain


@contextlib.asynccontextmanager
async def fault_env(tmp: Path, *, clock: Clock | None = None,
                    tweak: Tweak | None = None) -> AsyncIterator[Env]:
    os.environ.setdefault(UPSTREAM_KEY_VAR, "sim-" + secrets.token_hex(8))
    os.environ.setdefault(MASTER_KEY_VAR, "sk-master-" + secrets.token_urlsafe(24))
    clock = clock or ManualClock()
    async with contextlib.AsyncExitStack() as stack:
        sims = {n: await stack.enter_async_context(Simulator(n))
                for n in ("openai", "anthropic", "gemini")}
        cfg = fault_config({n: s.base_url for n, s in sims.items()}, str(tmp))
        if tweak is not None:
            tweak(cfg)
        gw = await build_gateway(cfg, clock=clock)
        stack.push_async_callback(gw.close)
        key, _ = await gw.keys.create(name="faults")
        root = await stack.enter_async_context(serve_gateway(gw, cfg))
        http = await stack.enter_async_context(aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=30)))
        yield Env(gw=gw, root=root, key=key, sims=sims, clock=clock, http=http)


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    async with fault_env(tmp_path) as e:
        yield e


def manual(env: Env) -> ManualClock:
    assert isinstance(env.clock, ManualClock)
    return env.clock
