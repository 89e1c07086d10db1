"""Fixtures for the security suite: demo gateways on loopback (optionally with a tweaked
config) and an aiohttp session."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import msgspec
import pytest

from portico.cli.demo import MASTER_KEY_VAR, UPSTREAM_KEY_VAR, demo_config
from portico.config.model import PorticoConfig, RetryConfig
from portico.server.gateway import build_gateway
from portico.simulate.runner import Simulator
from tests.support.gateway import Running, demo_gateway, serve_gateway

Tweak = Callable[[PorticoConfig], PorticoConfig]


def no_retries(cfg: PorticoConfig) -> PorticoConfig:
    return msgspec.structs.replace(cfg, retry=RetryConfig(max_attempts=1))


@contextlib.asynccontextmanager
async def tweaked_gateway(tmp: Path, tweak: Tweak, *, upstream_key: str | None = None,
                          master_key: str | None = None) -> AsyncIterator[Running]:
    """demo_gateway with `tweak` applied to the config built from the simulators' URLs."""
    env = {UPSTREAM_KEY_VAR: upstream_key or "sim-" + secrets.token_hex(8),
           MASTER_KEY_VAR: master_key or "sk-master-" + secrets.token_urlsafe(24)}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        async with contextlib.AsyncExitStack() as stack:
            sims = {n: await stack.enter_async_context(Simulator(n))
                    for n in ("openai", "anthropic", "gemini")}
            cfg = tweak(demo_config({n: s.base_url for n, s in sims.items()}, str(tmp)))
            gw = await build_gateway(cfg)
            stack.push_async_callback(gw.close)
            key, _ = await gw.keys.create(name="test")
            root = await stack.enter_async_context(serve_gateway(gw, cfg))
            yield Running(gateway=gw, base_url=root + "/v1", root_url=root, key=key,
                          master_key=env[MASTER_KEY_VAR], sims=sims)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    async with demo_gateway(tmp_path) as r:
        yield r


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session
