"""Authorization matrix: every declared route x master / admin key / virtual key / revoked /
expired / no key; plus object-level rules (key A never reads key B's usage or audit)."""

from __future__ import annotations

import itertools
from typing import Any

import aiohttp
import pytest

from portico.server.app import route_table
from portico.server.principal import Permission
from tests.support.gateway import Running

PRINCIPALS = ("master", "admin", "virtual", "revoked", "expired", "none")
# Request bodies for routes that need one; any other POST gets `{}`.
BODIES: dict[str, dict[str, Any]] = {
    "/v1/chat/completions": {"model": "gpt-4o-mini",
                             "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5},
    "/v1/embeddings": {"model": "text-embedding-3-small", "input": "hi"},
    "/admin/keys": {"name": "matrix"},
}
# Exact success statuses where known; other routes must merely not refuse the caller.
OK_STATUS: dict[tuple[str, str], int] = {("/admin/keys", "POST"): 201}


def expected(permission: Permission, principal: str) -> int | None:
    """The status a cell must return; None means 'admitted' (not 401/403, not 5xx)."""
    if permission is Permission.PUBLIC:
        return None
    if principal in ("revoked", "expired", "none"):
        return 401
    if permission is Permission.ADMIN and principal == "virtual":
        return 403
    return None


async def _keys(running: Running) -> dict[str, str | None]:
    gw = running.gateway
    now_ms = int(gw.clock.wall() * 1000)
    admin, _ = await gw.keys.create(name="admin", is_admin=True)
    revoked, rec = await gw.keys.create(name="revoked")
    await gw.keys.revoke(rec.id)
    expired, _ = await gw.keys.create(name="expired", expires_at_ms=now_ms - 1000)
    return {"master": running.master_key, "admin": admin, "virtual": running.key,
            "revoked": revoked, "expired": expired, "none": None}


async def test_authorization_matrix(running: Running, http: aiohttp.ClientSession) -> None:
    keys = await _keys(running)
    gw = running.gateway
    cells = 0
    for spec, principal in itertools.product(route_table(), PRINCIPALS):
        for method in spec.methods:
            path = spec.path
            if "{key_id}" in path:
                # A fresh victim per cell, so DELETE cells do not depend on each other.
                _, victim = await gw.keys.create(name="victim")
                path = path.replace("{key_id}", victim.id)
            key = keys[principal]
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            body = BODIES.get(spec.path, {}) if method == "POST" else None
            async with http.request(method, running.root_url + path, json=body,
                                    headers=headers) as r:
                status = r.status
                payload = await r.read()
            want = expected(spec.permission, principal)
            where = f"{method} {spec.path} as {principal}: {status} {payload[:200]!r}"
            if want is not None:
                assert status == want, where
            else:
                assert status not in (401, 403) and status < 500, where
                if (spec.path, method) in OK_STATUS:
                    assert status == OK_STATUS[(spec.path, method)], where
                elif spec.path in BODIES or (method == "GET" and "{" not in spec.path):
                    assert status == 200, where
            cells += 1
    assert cells == len(PRINCIPALS) * sum(len(s.methods) for s in route_table())


async def _get(http: aiohttp.ClientSession, url: str, key: str) -> tuple[int, Any]:
    async with http.get(url, headers={"Authorization": f"Bearer {key}"}) as r:
        return r.status, await r.json()


@pytest.mark.parametrize("route", ["/v1/usage", "/v1/spend", "/v1/audit"])
async def test_key_a_cannot_read_key_b(running: Running, http: aiohttp.ClientSession,
                                       route: str) -> None:
    gw = running.gateway
    key_a, rec_a = await gw.keys.create(name="a")
    key_b, rec_b = await gw.keys.create(name="b")
    chat = BODIES["/v1/chat/completions"]
    for key in (key_a, key_b, key_b):
        async with http.post(running.base_url + "/chat/completions", json=chat,
                             headers={"Authorization": f"Bearer {key}"}) as r:
            assert r.status == 200
    await gw.journal.flush()
    url = running.root_url + route
    status, _ = await _get(http, f"{url}?key_id={rec_b.id}", key_a)
    assert status == 403
    status, own = await _get(http, f"{url}?team=other&actor={rec_b.id}", key_a)
    assert status == 200
    text = str(own)
    assert rec_b.id not in text
    if route == "/v1/usage":
        assert own["data"] and all(row["key_id"] == rec_a.id for row in own["data"])
    if route == "/v1/spend":
        status, by_key = await _get(http, f"{url}?group_by=key", key_a)
        assert status == 200 and {line["group"] for line in by_key["data"]} <= {rec_a.id}
    # The master key sees both.
    status, everything = await _get(http, url + ("?group_by=key" if route == "/v1/spend"
                                                 else ""), running.master_key)
    assert status == 200
    if route != "/v1/audit":
        assert rec_a.id in str(everything) and rec_b.id in str(everything)


async def test_admin_virtual_key_reads_all_usage(running: Running,
                                                 http: aiohttp.ClientSession) -> None:
    admin, _ = await running.gateway.keys.create(name="ops", is_admin=True)
    async with http.post(running.base_url + "/chat/completions",
                         json=BODIES["/v1/chat/completions"],
                         headers={"Authorization": f"Bearer {running.key}"}) as r:
        assert r.status == 200
    await running.gateway.journal.flush()
    status, rows = await _get(http, running.root_url + "/v1/usage", admin)
    assert status == 200 and rows["data"]
