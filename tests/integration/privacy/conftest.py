"""A whole gateway with privacy settings, on the three simulated upstreams (in-process)."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import msgspec
import pytest

from portico.cli.demo import MASTER_KEY_VAR, UPSTREAM_KEY_VAR, demo_config
from portico.config.model import PorticoConfig
from portico.privacy.detector import DetectorConfig, PiiDetector
from portico.server.gateway import Gateway, build_gateway
from portico.simulate.runner import Simulator
from portico.store.records import KeySettings
from tests.support.gateway import serve_gateway

Tweak = Callable[[PorticoConfig, dict[str, str]], PorticoConfig]


@dataclass
class Privacy:
    gateway: Gateway
    root: str
    key: str
    master: str
    sims: dict[str, Simulator]
    http: aiohttp.ClientSession

    async def new_key(self, settings: KeySettings) -> str:
        key, _ = await self.gateway.keys.create(name="k", settings=settings)
        return key

    async def chat(self, body: dict[str, object], *, key: str | None = None,
                   headers: dict[str, str] | None = None) -> tuple[int, dict[str, object]]:
        async with self.http.post(
                f"{self.root}/v1/chat/completions", json=body,
                headers={"authorization": f"Bearer {key or self.key}", **(headers or {})}) as r:
            return r.status, await r.json()

    async def stream_text(self, body: dict[str, object], *, key: str | None = None) -> str:
        """The concatenated content deltas the client received."""
        text: list[str] = []
        async with self.http.post(
                f"{self.root}/v1/chat/completions", json={**body, "stream": True},
                headers={"authorization": f"Bearer {key or self.key}"}) as r:
            assert r.status == 200, await r.text()
            async for raw in r.content:
                line = raw.decode().strip()
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                chunk = msgspec.json.decode(line[6:])
                for choice in chunk.get("choices", []):
                    text.append(choice["delta"].get("content") or "")
        return "".join(text)

    async def drain(self) -> None:
        """Until everything submitted to the journal is in the store."""
        while await self.gateway.journal.flush() or self.gateway.journal.stats.pending:
            pass

    def upstream_bodies(self, sim: str = "openai") -> list[str]:
        return [bytes(e.body).decode() for e in self.sims[sim].ledger if e.body is not None]


@contextlib.asynccontextmanager
async def privacy_gateway(tmp: Path, tweak: Tweak) -> AsyncIterator[Privacy]:
    os.environ.setdefault(UPSTREAM_KEY_VAR, "sim-" + secrets.token_hex(8))
    os.environ.setdefault(MASTER_KEY_VAR, "sk-master-" + secrets.token_urlsafe(24))
    async with contextlib.AsyncExitStack() as stack:
        sims = {n: await stack.enter_async_context(Simulator(n))
                for n in ("openai", "anthropic", "gemini")}
        urls = {n: s.base_url for n, s in sims.items()}
        cfg = tweak(demo_config(urls, str(tmp)), urls)
        gw = await build_gateway(cfg)
        stack.push_async_callback(gw.close)
        key, _ = await gw.keys.create(name="test")
        root = await stack.enter_async_context(serve_gateway(gw, cfg))
        http = await stack.enter_async_context(aiohttp.ClientSession())
        yield Privacy(gateway=gw, root=root, key=key, master=os.environ[MASTER_KEY_VAR],
                      sims=sims, http=http)


@pytest.fixture(scope="session")
def ner_detector() -> PiiDetector:
    """The NER model loads in about two seconds: once per test session."""
    return PiiDetector(DetectorConfig())
