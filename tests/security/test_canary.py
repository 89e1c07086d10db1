"""Canary: a broad scenario set runs with unique provider, master and virtual keys, logging to
a file at DEBUG; afterwards none of them appears (plain, URL-encoded, base64) in the log, any
response, the SQLite files or the PostgreSQL tables. Virtual keys are stored as hashes only."""

from __future__ import annotations

import base64
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import aiohttp
import msgspec
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from portico.config.model import LoggingConfig, PorticoConfig, RetryConfig, StoreConfig
from portico.simulate.faults import FaultRule
from tests.security.conftest import tweaked_gateway
from tests.support.gateway import Running

PG_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432"
SYSTEM = "You are a canary bot."
TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}


def forms(secret: str) -> list[str]:
    raw = secret.encode()
    return [secret, quote(secret, safe=""), base64.b64encode(raw).decode(),
            base64.urlsafe_b64encode(raw).decode().rstrip("=")]


async def pg_admin(statement: str) -> None:
    engine = create_async_engine(PG_SERVER + "/postgres", isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text(statement))
    finally:
        await engine.dispose()


async def pg_dump(db: str) -> str:
    engine = create_async_engine(f"{PG_SERVER}/{db}")
    try:
        async with engine.connect() as conn:
            tables = (await conn.execute(sa.text(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public'"))).scalars().all()
            assert tables
            out: list[str] = []
            for table in tables:
                rows = await conn.execute(sa.text(f'SELECT t::text FROM "{table}" t'))
                out.extend(str(r[0]) for r in rows)
            return "\n".join(out)
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/canary.db"
        return
    db = f"portico_canary_{secrets.token_hex(6)}"
    await pg_admin(f'CREATE DATABASE "{db}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{db}"
    finally:
        await pg_admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


class Recorder:
    def __init__(self, http: aiohttp.ClientSession, r: Running) -> None:
        self.http, self.r = http, r
        self.seen: list[str] = []

    async def call(self, method: str, path: str, key: str | None, body: object = None,
                   headers: dict[str, str] | None = None, record: bool = True
                   ) -> tuple[int, bytes]:
        h = {"Authorization": f"Bearer {key}"} if key else {}
        h.update(headers or {})
        async with self.http.request(method, self.r.root_url + path, json=body,
                                     headers=h) as resp:
            data = await resp.read()
            if not record:      # the one response meant to carry a key: its creation
                return resp.status, data
            self.seen.append(data.decode("utf-8", "replace"))
            self.seen.append(str(list(resp.headers.items())))
            return resp.status, data


def chat(model: str, **extra: object) -> dict[str, object]:
    return {"model": model, "max_tokens": 30, **extra,
            "messages": [{"role": "system", "content": SYSTEM},
                         {"role": "user", "content": "Say hello"}]}


async def scenarios(rec: Recorder, r: Running, provider_key: str) -> list[str]:
    """Runs everything; returns the plain virtual keys minted along the way."""
    master, vk = r.master_key, r.key
    echo = (f"echo Authorization: Bearer {provider_key} x-api-key: {provider_key} "
            f"key={provider_key}")
    for model in ("gpt-4o-mini", "claude-haiku", "gemini-flash"):
        assert (await rec.call("POST", "/v1/chat/completions", vk, chat(model)))[0] == 200
        assert (await rec.call("POST", "/v1/chat/completions", vk,
                               chat(model, stream=True,
                                    stream_options={"include_usage": True})))[0] == 200
        assert (await rec.call("POST", "/v1/chat/completions", vk,
                               chat(model, tools=[TOOL])))[0] == 200
    assert (await rec.call("POST", "/v1/embeddings", vk,
                           {"model": "text-embedding-3-small", "input": "hi"}))[0] == 200
    status, created = await rec.call("POST", "/admin/keys", master, {"name": "canary-admin"},
                                     record=False)
    assert status == 201
    info = msgspec.json.decode(created)
    minted = [info["key"]]
    assert (await rec.call("POST", "/v1/chat/completions", minted[0], chat("gpt-4o-mini")))[0] \
        == 200
    assert (await rec.call("GET", "/admin/keys", master))[0] == 200
    assert (await rec.call("GET", f"/admin/keys/{info['id']}", master))[0] == 200
    assert (await rec.call("DELETE", f"/admin/keys/{info['id']}", master))[0] == 200
    assert (await rec.call("POST", "/v1/chat/completions", minted[0],
                           chat("gpt-4o-mini")))[0] == 401
    # Upstream errors echoing credentials (last: they open breakers).
    for sim, model in (("openai", "gpt-4o-mini"), ("anthropic", "claude-haiku"),
                       ("gemini", "gemini-flash")):
        for status in (401, 400, 500):
            r.sims[sim].faults.push(FaultRule(status=status, message=echo, times=None))
            code, _ = await rec.call("POST", "/v1/chat/completions", vk, chat(model))
            assert code >= 400
            r.sims[sim].faults.clear()
    await r.gateway.journal.flush()
    for path in ("/v1/usage", "/v1/spend?group_by=key", "/v1/audit", "/admin/audit/verify",
                 "/admin/breakers", "/metrics", "/v1/models"):
        assert (await rec.call("GET", path, master))[0] == 200
        await rec.call("GET", path, vk)
    # Bad requests, with keys where they do not belong.
    await rec.call("POST", "/v1/chat/completions", vk + "x", chat("gpt-4o-mini"))
    await rec.call("POST", "/v1/chat/completions", None, chat("gpt-4o-mini"),
                   {"x-api-key": master, "Authorization": f"Bearer {vk}"})
    await rec.call("POST", "/v1/chat/completions", vk, chat("gpt-4o-mini", api_key=vk))
    await rec.call("GET", f"/v1/models?key={vk}&api_key={master}", vk)
    await rec.call("GET", f"/admin/keys/{vk}", master)
    return minted


async def test_canary_keys_never_leak(tmp_path: Path, store_url: str) -> None:
    provider_key = "cnry-prov-" + secrets.token_hex(16)
    master_key = "cnry-mstr-" + secrets.token_hex(16)
    log_file = tmp_path / "portico.log"

    def tweak(cfg: PorticoConfig) -> PorticoConfig:
        return msgspec.structs.replace(
            cfg, retry=RetryConfig(max_attempts=2, backoff_base_seconds=0.01),
            logging=LoggingConfig(level="debug", file=str(log_file)),
            store=StoreConfig(url=store_url, journal_path=str(tmp_path / "journal")))

    async with tweaked_gateway(tmp_path, tweak, upstream_key=provider_key,
                               master_key=master_key) as r, aiohttp.ClientSession() as http:
        rec = Recorder(http, r)
        minted = await scenarios(rec, r, provider_key)
        virtual = [r.key, *minted]
        hashes = [r.gateway.keys.hash_key(k) for k in virtual]
        await r.gateway.journal.flush()
        pg_text = await pg_dump(store_url.rsplit("/", 1)[1]) if "postgresql" in store_url \
            else ""
    # The gateway is closed: the journal is flushed and the log handler removed.
    log_text = log_file.read_text()
    assert '"request finished"' in log_text or "request finished" in log_text
    files = {p: p.read_bytes().decode("latin-1") for p in tmp_path.rglob("*") if p.is_file()}
    assert any(p.name.startswith("canary.db") for p in files) or pg_text
    places = {"log": log_text, "responses": "\n".join(rec.seen), "postgres": pg_text,
              **{str(p): text for p, text in files.items()}}
    for secret in (provider_key, master_key, *virtual):
        for form in forms(secret):
            for where, text in places.items():
                assert form not in text, f"{secret[:10]}… ({form[:14]}…) found in {where}"
    stored = pg_text or "".join(t for p, t in files.items() if p.name.startswith("canary.db"))
    for digest in hashes:
        assert digest in stored, "virtual keys are stored as their HMAC"
