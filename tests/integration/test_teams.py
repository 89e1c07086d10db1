"""Teams through the in-process gateway: the admin routes and their audit events, keys only for
known teams, a stored team rpm shared by the team's keys, and archived teams' keys refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from portico.cli.demo import demo_config
from portico.config.model import BudgetLimits, LimitsConfig, TeamConfig
from portico.simulate.runner import Simulator
from tests.support.gateway import Running, demo_gateway

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 5}


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    async with Simulator("openai") as o, Simulator("anthropic") as a, \
            Simulator("gemini") as g:
        cfg = demo_config({"openai": o.base_url, "anthropic": a.base_url,
                           "gemini": g.base_url}, str(tmp_path))
        cfg.limits = LimitsConfig(teams={"ops": TeamConfig(
            requests_per_minute=50, max_parallel=4, budget=BudgetLimits(daily_usd=2))})
        async with demo_gateway(tmp_path, config=cfg) as run:
            yield run


@pytest.fixture
async def admin(running: Running) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=running.root_url, timeout=10, headers={
            "authorization": f"Bearer {running.master_key}"}) as client:
        yield client


async def test_team_lifecycle_and_audit(running: Running, admin: httpx.AsyncClient) -> None:
    r = await admin.post("/admin/teams", json={"name": "red",
                                               "settings": {"requests_per_minute": 5}})
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["id"].startswith("team_") and created["effective"]["requests_per_minute"] == 5
    assert (await admin.post("/admin/teams", json={"name": "red"})).status_code == 400
    assert (await admin.post("/admin/teams", json={"name": "no spaces"})).status_code == 400
    assert (await admin.post("/admin/teams", json={
        "name": "zero", "settings": {"max_parallel": 0}})).status_code == 400

    r = await admin.patch("/admin/teams/red", json={"requests_per_minute": None,
                                                    "tokens_per_minute": 1000,
                                                    "allowed_models": ["gpt-4o-mini"]})
    assert r.status_code == 200, r.text
    assert r.json()["settings"] == {"tokens_per_minute": 1000, "allowed_models": ["gpt-4o-mini"]}
    shown = (await admin.get("/admin/teams/red")).json()
    assert shown["settings"]["tokens_per_minute"] == 1000
    assert (await admin.patch("/admin/teams/red", json={"bogus": 1})).status_code == 400
    assert (await admin.patch("/admin/teams/nobody", json={})).status_code == 404

    names = [t["name"] for t in (await admin.get("/admin/teams")).json()["data"]]
    assert names == ["ops", "red"]
    r = await admin.delete("/admin/teams/red")
    assert r.status_code == 200 and r.json()["archived"] is True
    assert (await admin.delete("/admin/teams/red")).status_code == 404
    assert (await admin.patch("/admin/teams/red", json={"max_parallel": 1})).status_code == 400
    assert [t["name"] for t in (await admin.get("/admin/teams")).json()["data"]] == ["ops"]
    every = (await admin.get("/admin/teams?include_archived=true")).json()["data"]
    assert [(t["name"], "archived_at_ms" in t) for t in every] == [("ops", False),
                                                                   ("red", True)]
    assert (await admin.get("/admin/teams/nobody")).status_code == 404

    await running.gateway.journal.flush()
    events = [e["event"] for e in (await admin.get("/v1/audit?actor=master")).json()["data"]]
    team_events = [e for e in events if e["action"].startswith("team.")]
    assert [e["action"] for e in team_events] == ["team.create", "team.update", "team.archive"]
    assert all(e["target"] == "team:red" and e["actor"] == "master" for e in team_events)
    update = team_events[1]["detail"]
    assert update["before"]["settings"] == {"requests_per_minute": 5}
    assert update["after"]["settings"]["tokens_per_minute"] == 1000
    archive = team_events[2]["detail"]
    assert "archived_at_ms" not in archive["before"] and "archived_at_ms" in archive["after"]
    assert (await admin.get("/admin/audit/verify")).json()["ok"] is True


async def test_config_team_merged_with_stored_settings(admin: httpx.AsyncClient) -> None:
    only_config = (await admin.get("/admin/teams/ops")).json()
    assert only_config["id"] is None and only_config["configured"] is True
    assert only_config["effective"]["budget_micros_daily"] == 2_000_000
    assert (await admin.patch("/admin/teams/ops", json={"max_parallel": 1})).status_code == 404
    r = await admin.post("/admin/teams", json={"name": "ops",
                                               "settings": {"requests_per_minute": 7}})
    assert r.status_code == 201
    eff = r.json()["effective"]
    assert (eff["requests_per_minute"], eff["max_parallel"], eff["budget_micros_daily"]) == \
        (7, 4, 2_000_000)


async def test_keys_only_for_known_teams(admin: httpx.AsyncClient) -> None:
    r = await admin.post("/admin/keys", json={"name": "k", "team": "ghosts"})
    assert r.status_code == 400
    err = r.json()["error"]
    assert "ghosts" in err["message"] and err["param"] == "team"
    assert (await admin.post("/admin/keys", json={"name": "k", "team": "ops"})).status_code \
        == 201
    await admin.post("/admin/teams", json={"name": "red"})
    assert (await admin.post("/admin/keys", json={"name": "k", "team": "red"})).status_code \
        == 201
    await admin.delete("/admin/teams/red")
    r = await admin.post("/admin/keys", json={"name": "k", "team": "red"})
    assert r.status_code == 400 and "archived" in r.json()["error"]["message"]


async def _key(admin: httpx.AsyncClient, team: str) -> dict[str, Any]:
    r = await admin.post("/admin/keys", json={"name": f"{team}-key", "team": team})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_stored_team_rpm_spans_keys_and_archive_refuses_them(
        running: Running, admin: httpx.AsyncClient) -> None:
    assert (await admin.post("/admin/teams", json={
        "name": "red", "settings": {"requests_per_minute": 2}})).status_code == 201
    first, second = await _key(admin, "red"), await _key(admin, "red")
    other = await _key(admin, "ops")
    async with httpx.AsyncClient(base_url=running.root_url, timeout=10) as client:
        async def chat(k: dict[str, Any]) -> httpx.Response:
            return await client.post("/v1/chat/completions", json=CHAT,
                                     headers={"authorization": f"Bearer {k['key']}"})

        assert (await chat(first)).status_code == 200
        assert (await chat(second)).status_code == 200
        limited = await chat(first)
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert (await chat(other)).status_code == 200      # another team is unaffected

        assert (await admin.delete("/admin/teams/red")).status_code == 200
        refused = await chat(second)
        assert refused.status_code == 401
        assert refused.json()["error"]["message"] == "Incorrect API key provided."
        assert (await chat(other)).status_code == 200
