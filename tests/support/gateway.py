"""Runs a whole Portico gateway in-process on an ephemeral port, with simulated upstreams."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from portico.cli.demo import MASTER_KEY_VAR, UPSTREAM_KEY_VAR, demo_config
from portico.cli.serve import uvicorn_config
from portico.clock import Clock
from portico.config.model import PorticoConfig
from portico.server.app import create_app
from portico.server.gateway import Gateway, build_gateway
from portico.simulate.runner import Simulator


@dataclass
class Running:
    gateway: Gateway
    base_url: str          # e.g. http://127.0.0.1:PORT/v1
    root_url: str
    key: str               # a virtual key
    master_key: str
    sims: dict[str, Simulator]
    clients: list[Any] = field(default_factory=list)   # SDK clients to close at the end


@contextlib.asynccontextmanager
async def serve_gateway(gw: Gateway, cfg: PorticoConfig) -> AsyncIterator[str]:
    # The production server settings (coalescing protocol, no server header) on a free port.
    config = uvicorn_config(create_app(cfg, gateway=gw), "127.0.0.1", 0)
    server = uvicorn.Server(config)
    config.load()
    server.lifespan = config.lifespan_class(config)
    await server.startup()
    if server.should_exit or not server.servers:
        raise RuntimeError("gateway failed to start")
    port = server.servers[0].sockets[0].getsockname()[1]
    task = asyncio.create_task(server.main_loop())
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        for conn in list(server.server_state.connections):
            transport = getattr(conn, "transport", None)
            if isinstance(transport, asyncio.Transport):
                transport.close()
        await server.shutdown()


@contextlib.asynccontextmanager
async def demo_gateway(tmp: Path, *, clock: Clock | None = None,
                       config: PorticoConfig | None = None) -> AsyncIterator[Running]:
    """The demo setup (three simulators, groups gpt-4o-mini / claude-haiku / gemini-flash /
    smart) with a fresh SQLite store under `tmp`."""
    os.environ.setdefault(UPSTREAM_KEY_VAR, "sim-" + secrets.token_hex(8))
    os.environ.setdefault(MASTER_KEY_VAR, "sk-master-" + secrets.token_urlsafe(24))
    async with contextlib.AsyncExitStack() as stack:
        sims = {n: await stack.enter_async_context(Simulator(n))
                for n in ("openai", "anthropic", "gemini")}
        cfg = config or demo_config({n: s.base_url for n, s in sims.items()}, str(tmp))
        gw = await build_gateway(cfg, clock=clock)
        stack.push_async_callback(gw.close)
        key, _ = await gw.keys.create(name="test")
        root = await stack.enter_async_context(serve_gateway(gw, cfg))
        yield Running(gateway=gw, base_url=root + "/v1", root_url=root, key=key,
                      master_key=os.environ[MASTER_KEY_VAR], sims=sims)
