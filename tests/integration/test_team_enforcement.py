"""A team's allowed_models, pii_mode and data_class, set through the admin API, bind its keys:
driven by the official openai (and anthropic) SDK against the in-process gateway, and seen by a
second replica once the team cache TTL has passed on its injected clock."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import msgspec
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from portico.cli.demo import demo_config
from portico.clock import ManualClock
from portico.config.model import (
    PiiConfig,
    PolicyConfig,
    PolicyRule,
    PorticoConfig,
)
from portico.pipeline.keys import CACHE_TTL_SECONDS
from portico.server.gateway import build_gateway
from portico.simulate.runner import Simulator
from tests.support.gateway import Running, demo_gateway, serve_gateway
from tests.support.policies import group, training_split

NO_TRAINING = PolicyRule(name="no-training-for-sensitive", data_class="sensitive",
                         no_training=True)
EMAIL = "dana.reyes@example.org"


def user(text: str) -> list[ChatCompletionMessageParam]:
    return [{"role": "user", "content": text}]


HI = user("hi")


def team_config(urls: dict[str, str], folder: str) -> PorticoConfig:
    """The demo, PII off by default (patterns only when a team turns it on), one policy rule,
    and groups whose deployments differ only in whether they train on data."""
    cfg = demo_config(urls, folder)
    models = [*cfg.models,
              group("mixed", ("trainer", "m-trains"), ("careful", "m-careful")),
              group("trains-only", ("trainer", "m-trains"))]
    return msgspec.structs.replace(cfg, providers=training_split(cfg), models=models,
                                   pii=PiiConfig(mode="off", use_model=False),
                                   policy=PolicyConfig(rules=[NO_TRAINING]))


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    async with Simulator("openai") as o, Simulator("anthropic") as a, \
            Simulator("gemini") as g:
        urls = {"openai": o.base_url, "anthropic": a.base_url, "gemini": g.base_url}
        async with demo_gateway(tmp_path, config=team_config(urls, str(tmp_path))) as run:
            run.sims = {"openai": o, "anthropic": a, "gemini": g}   # the ones it talks to
            yield run
            for c in run.clients:
                await c.close()


@pytest.fixture
async def admin(running: Running) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=running.root_url, timeout=10, headers={
            "authorization": f"Bearer {running.master_key}"}) as client:
        yield client


async def new_team(admin: httpx.AsyncClient, name: str, **settings: Any) -> None:
    r = await admin.post("/admin/teams", json={"name": name, "settings": settings})
    assert r.status_code == 201, r.text


async def patch_team(admin: httpx.AsyncClient, name: str, **settings: Any) -> None:
    r = await admin.patch(f"/admin/teams/{name}", json=settings)
    assert r.status_code == 200, r.text


async def new_key(admin: httpx.AsyncClient, team: str | None, models: list[str] | None = None
                  ) -> str:
    r = await admin.post("/admin/keys", json={"name": "k", "team": team,
                                              "models": models or []})
    assert r.status_code == 201, r.text
    plain: str = r.json()["key"]
    return plain


def sdk(r: Running, key: str, base_url: str | None = None) -> openai.AsyncOpenAI:
    c = openai.AsyncOpenAI(base_url=base_url or r.base_url, api_key=key, max_retries=0)
    r.clients.append(c)
    return c


async def models_of(c: openai.AsyncOpenAI) -> list[str]:
    return [m.id for m in (await c.models.list()).data]


def upstream_models(r: Running) -> list[str | None]:
    return [e.model for e in r.sims["openai"].ledger]


async def test_a_model_outside_the_team_list_is_refused_everywhere(
        running: Running, admin: httpx.AsyncClient) -> None:
    await new_team(admin, "red", allowed_models=["gpt-4o-mini", "text-embedding-3-small",
                                                 "openai/*"])
    # The key allows claude-haiku, the team does not: refused, with the key check's error.
    c = sdk(running, await new_key(admin, "red", ["gpt-4o-mini", "claude-haiku"]))
    with pytest.raises(openai.PermissionDeniedError) as denied:
        await c.chat.completions.create(model="claude-haiku", messages=HI, max_tokens=4)
    assert denied.value.status_code == 403
    err = denied.value.response.json()["error"]
    assert (err["code"], err["param"], err["type"]) == \
        ("model_not_allowed", "model", "permission_error")
    assert "claude-haiku" in err["message"]
    assert "red" not in err["message"] and "openai/*" not in err["message"]
    ok = await c.chat.completions.create(model="gpt-4o-mini", messages=HI, max_tokens=4)
    assert ok.choices[0].message.content
    # Both lists must admit it: the team admits embeddings, this key does not.
    with pytest.raises(openai.PermissionDeniedError):
        await c.embeddings.create(model="text-embedding-3-small", input="x")
    assert await models_of(c) == ["gpt-4o-mini"]

    # A key with no list of its own gets exactly the team's list.
    wide = sdk(running, await new_key(admin, "red"))
    assert await models_of(wide) == ["gpt-4o-mini", "text-embedding-3-small"]
    assert (await wide.embeddings.create(model="text-embedding-3-small", input="x")).data
    with pytest.raises(openai.PermissionDeniedError):
        await wide.chat.completions.create(model="smart", messages=HI, max_tokens=4)
    # /v1/messages takes the same check and answers in Anthropic's shape.
    claude = anthropic.AsyncAnthropic(base_url=running.root_url, api_key=await new_key(
        admin, "red"), max_retries=0)
    running.clients.append(claude)
    with pytest.raises(anthropic.PermissionDeniedError) as anth:
        await claude.messages.create(model="claude-haiku", max_tokens=4,
                                     messages=[{"role": "user", "content": "hi"}])
    assert "claude-haiku" in str(anth.value.message)

    # Keys of no team are untouched; clearing the team's list frees its keys at once here.
    assert "claude-haiku" in await models_of(sdk(running, await new_key(admin, None)))
    await patch_team(admin, "red", allowed_models=None)
    assert "smart" in await models_of(wide)
    assert (await wide.chat.completions.create(model="smart", messages=HI,
                                               max_tokens=4)).choices


async def test_team_pii_block_refuses_naming_entity_types(
        running: Running, admin: httpx.AsyncClient) -> None:
    await new_team(admin, "red")
    c = sdk(running, await new_key(admin, "red"))
    text = f"write to {EMAIL} please"
    # Config default is off: the team's stored mode is not yet set.
    assert (await c.chat.completions.create(
        model="gpt-4o-mini", messages=user(text), max_tokens=4)).choices
    await patch_team(admin, "red", pii_mode="block")
    sent = len(running.sims["openai"].ledger)
    with pytest.raises(openai.BadRequestError) as blocked:
        await c.chat.completions.create(
            model="gpt-4o-mini", messages=user(text), max_tokens=4)
    err = blocked.value.response.json()["error"]
    assert blocked.value.status_code == 400 and err["code"] == "pii_detected"
    assert "EMAIL" in err["message"] and EMAIL not in err["message"]
    with pytest.raises(openai.BadRequestError) as embed:
        await c.embeddings.create(model="text-embedding-3-small", input=[text])
    assert embed.value.response.json()["error"]["code"] == "pii_detected"
    assert len(running.sims["openai"].ledger) == sent      # nothing left the gateway
    # The key cannot opt out of its team's mode; a clean request passes.
    assert (await c.chat.completions.create(model="gpt-4o-mini", messages=HI,
                                            max_tokens=4)).choices
    free = sdk(running, await new_key(admin, None))
    assert (await free.chat.completions.create(
        model="gpt-4o-mini", messages=user(text), max_tokens=4)).choices


async def test_team_sensitive_class_steers_routing(
        running: Running, admin: httpx.AsyncClient) -> None:
    await new_team(admin, "vault", data_class="sensitive")
    c = sdk(running, await new_key(admin, "vault"))
    free = sdk(running, await new_key(admin, None))
    await free.chat.completions.create(model="mixed", messages=HI, max_tokens=4)
    assert upstream_models(running)[-1] == "m-trains"     # internal: the first deployment
    await c.chat.completions.create(model="mixed", messages=HI, max_tokens=4)
    assert upstream_models(running)[-1] == "m-careful"
    # The header may not lower the team's class.
    await c.chat.completions.create(model="mixed", messages=HI, max_tokens=4,
                                    extra_headers={"x-portico-data-class": "public"})
    assert upstream_models(running)[-1] == "m-careful"
    before = len(running.sims["openai"].ledger)
    with pytest.raises(openai.PermissionDeniedError) as refused:
        await c.chat.completions.create(model="trains-only", messages=HI, max_tokens=4)
    err = refused.value.response.json()["error"]
    assert err["code"] == "data_policy_violation"
    assert "no-training-for-sensitive" in err["message"]
    assert len(running.sims["openai"].ledger) == before

    gw = running.gateway
    while await gw.journal.flush() or gw.journal.stats.pending:
        pass
    events = [e.event for e in await gw.store.list_audit() if e.event.action == "chat.request"]
    assert [e.detail["data_class"] for e in events] == \
        ["internal", "sensitive", "sensitive", "sensitive"]
    decisions = events[1].detail["policy"]
    assert isinstance(decisions, list)
    assert decisions[0] == "class=sensitive from team; rules=no-training-for-sensitive"


@contextlib.asynccontextmanager
async def replica(running: Running, tmp: Path, clock: ManualClock) -> AsyncIterator[str]:
    """A second gateway process on the same store (its own journal slot), on `clock`."""
    cfg = running.gateway.config
    cfg = msgspec.structs.replace(cfg, store=msgspec.structs.replace(
        cfg.store, journal_path=str(tmp / "journal-b")))
    gw = await build_gateway(cfg, clock=clock)
    try:
        async with serve_gateway(gw, cfg) as root:
            yield root + "/v1"
    finally:
        await gw.close()


async def test_a_team_change_reaches_another_replica_after_the_cache_ttl(
        running: Running, admin: httpx.AsyncClient, tmp_path: Path) -> None:
    await new_team(admin, "red", allowed_models=["gpt-4o-mini"])
    key = await new_key(admin, "red")
    clock = ManualClock()
    async with replica(running, tmp_path, clock) as other_url:
        other = sdk(running, key, other_url)
        assert await models_of(other) == ["gpt-4o-mini"]      # B caches the team now
        with pytest.raises(openai.PermissionDeniedError):
            await other.chat.completions.create(model="claude-haiku", messages=HI,
                                                max_tokens=4)
        await patch_team(admin, "red", allowed_models=["claude-haiku"], pii_mode="block")
        here = sdk(running, key)
        assert await models_of(here) == ["claude-haiku"]      # this replica: at once
        # The other replica keeps its cached team until the TTL has passed on its clock.
        clock.advance(CACHE_TTL_SECONDS - 1.5)
        assert await models_of(other) == ["gpt-4o-mini"]
        clock.advance(1.6)
        assert await models_of(other) == ["claude-haiku"]
        assert (await other.chat.completions.create(model="claude-haiku", messages=HI,
                                                    max_tokens=4)).choices
        with pytest.raises(openai.BadRequestError) as blocked:
            await other.chat.completions.create(
                model="claude-haiku", messages=user(EMAIL),
                max_tokens=4)
        assert blocked.value.response.json()["error"]["code"] == "pii_detected"
