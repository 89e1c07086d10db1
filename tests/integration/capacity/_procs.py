"""Real `portico serve` subprocesses for the capacity tests: config files, key minting, start,
stop (SIGTERM / SIGKILL), and a small load generator."""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

PORTICO = Path(sys.executable).parent / "portico"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
UPSTREAM_VAR, MASTER_VAR = "CAP_TEST_UPSTREAM_KEY", "CAP_TEST_MASTER_KEY"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env() -> dict[str, str]:
    e = dict(os.environ)
    e.setdefault(UPSTREAM_VAR, "sim-" + secrets.token_hex(8))
    e.setdefault(MASTER_VAR, "sk-master-" + secrets.token_urlsafe(16))
    os.environ.update({UPSTREAM_VAR: e[UPSTREAM_VAR], MASTER_VAR: e[MASTER_VAR]})
    return e


async def pg_database() -> str:
    name = f"portico_cap_{os.getpid()}_{secrets.token_hex(4)}"
    engine = create_async_engine(f"{PG_SERVER.replace('postgresql', 'postgresql+asyncpg')}"
                                 "/postgres", isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        await engine.dispose()
    return f"{PG_SERVER}/{name}"


async def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    engine = create_async_engine(f"{PG_SERVER.replace('postgresql', 'postgresql+asyncpg')}"
                                 "/postgres", isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await engine.dispose()


def config_yaml(*, port: int, store_url: str, journal: Path, sim_base: str,
                redis_url: str | None = None, prefix: str = "cap", limits: str = "",
                redis_timeout_ms: int = 50,
                key_limits: str = "", max_tokens: int = 50, flush_ms: int = 100) -> str:
    redis = (f'redis: {{url: "{redis_url}", prefix: "{prefix}", '
             f'timeout_ms: {redis_timeout_ms}}}\n') \
        if redis_url else ""
    kl = f", limits: {{{key_limits}}}" if key_limits else ""
    return (
        f"master_key: env:{MASTER_VAR}\n"
        f"server: {{host: 127.0.0.1, port: {port}}}\n"
        f'store: {{url: "{store_url}", journal_path: "{journal}", flush_interval_ms: {flush_ms}}}\n'
        f"{redis}"
        f"logging: {{level: warning}}\n"
        f"limits: {{{limits}}}\n"
        "providers:\n"
        f'  openai: {{base_url: "{sim_base}", internal: true,'
        f" keys: [{{id: k1, key: env:{UPSTREAM_VAR}{kl}}}]}}\n"
        "models:\n"
        "  - name: m\n"
        f"    deployments: [{{provider: openai, model: gpt-4o-mini,"
        f" max_tokens_default: {max_tokens}}}]\n"
    )


def mint_key(config: Path, name: str = "load", settings_json: str | None = None) -> str:
    out = subprocess.run([str(PORTICO), "keys", "create", "--config", str(config), "--name",
                          name], env=env(), check=True, capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1].split("\t")[1]


@dataclass
class Gateway:
    config: Path
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)

    def fallbacks(self) -> int:
        """How often this process served limits from its local share (Redis too slow)."""
        return self.log.read_text(errors="replace").count("limiter primary unavailable")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)


def start(config: Path, port: int) -> Gateway:
    log = config.with_suffix(".log")
    with log.open("ab") as f:
        proc = subprocess.Popen([str(PORTICO), "serve", "--config", str(config)], env=env(),
                                stdout=f, stderr=subprocess.STDOUT)
    return Gateway(config, port, proc, log)


async def wait_ready(gws: Sequence[Gateway], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        for gw in gws:
            while True:
                if gw.proc.poll() is not None:
                    raise RuntimeError(f"gateway exited: {gw.log.read_text()[-2000:]}")
                try:
                    if (await client.get(gw.url + "/health/live")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"gateway not ready: {gw.log.read_text()[-2000:]}")
                await asyncio.sleep(0.1)


@dataclass
class Tally:
    ok: int = 0
    limited: int = 0
    other: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    ok_ids: list[str] = field(default_factory=list)


async def hammer(urls: Sequence[str], weights: Sequence[float], key: str, *, clients: int,
                 seconds: float, tally: Tally, headers: dict[str, str] | None = None,
                 stop: asyncio.Event | None = None) -> None:
    """`clients` loops posting chat requests for `seconds`, spread over `urls` by weight."""
    rng = random.Random(7)
    end = time.monotonic() + seconds
    hdrs = {"authorization": f"Bearer {key}", **(headers or {})}
    body = {"model": "m", "messages": [{"role": "user", "content": "Say hello politely."}]}
    async with httpx.AsyncClient(timeout=httpx.Timeout(15.0),
                                 limits=httpx.Limits(max_connections=clients * 2)) as client:

        async def loop() -> None:
            while time.monotonic() < end and not (stop and stop.is_set()):
                url = rng.choices(urls, weights)[0]
                try:
                    r = await client.post(url + "/v1/chat/completions", json=body,
                                          headers=hdrs)
                except httpx.TransportError:
                    tally.errors += 1
                    await asyncio.sleep(0.05)
                    continue
                if r.status_code == 200:
                    tally.ok += 1
                    tally.ok_ids.append(r.headers["x-request-id"])
                elif r.status_code == 429:
                    tally.limited += 1
                    assert "retry-after" in r.headers
                    await asyncio.sleep(0.05)
                else:
                    tally.other[r.status_code] = tally.other.get(r.status_code, 0) + 1

        await asyncio.gather(*(loop() for _ in range(clients)))
