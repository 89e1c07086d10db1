"""Every mounted route declares a permission in route_table() and appears in the published
OpenAPI document; /metrics is admin-only unless configured public."""

from __future__ import annotations

import json

import aiohttp
from starlette.applications import Starlette
from starlette.routing import Route

from portico.server.app import create_app, route_table
from portico.server.principal import Permission
from tests.support.gateway import Running


async def test_every_mounted_route_is_declared(running: Running,
                                               http: aiohttp.ClientSession) -> None:
    declared = {(s.path, m) for s in route_table() for m in s.methods}
    assert all(isinstance(s.permission, Permission) for s in route_table())
    # Build a fresh app and run its lifespan: the routes it mounts are exactly the table.
    wrapped = create_app(running.gateway.config, gateway=running.gateway)
    inner = wrapped.app  # type: ignore[attr-defined]
    while not isinstance(inner, Starlette):
        inner = inner.app
    async with inner.router.lifespan_context(inner):
        mounted = {(r.path, m) for r in inner.routes if isinstance(r, Route)
                   for m in (r.methods or ()) if m != "HEAD"}
    assert mounted == declared, (mounted ^ declared)


async def test_openapi_covers_every_route(running: Running, http: aiohttp.ClientSession) -> None:
    async with http.get(running.root_url + "/openapi.json") as r:
        assert r.status == 200
        doc = json.loads(await r.read())
    published = {(path, m.upper()) for path, ops in doc["paths"].items() for m in ops}
    declared = {(s.path, m) for s in route_table() for m in s.methods}
    assert published == declared
    for spec in route_table():
        for method in spec.methods:
            op = doc["paths"][spec.path][method.lower()]
            assert op["summary"] and "default" in op["responses"]
            assert ("security" in op) == (spec.permission is not Permission.PUBLIC)


async def test_metrics_needs_admin_and_exposes_no_keys(running: Running,
                                                       http: aiohttp.ClientSession) -> None:
    url = running.root_url + "/metrics"
    async with http.get(url) as r:
        assert r.status == 401
    async with http.get(url, headers={"Authorization": f"Bearer {running.key}"}) as r:
        assert r.status == 403
    chat = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "secret words"}]}
    auth = {"Authorization": f"Bearer {running.key}"}
    async with http.post(running.base_url + "/chat/completions", json=chat, headers=auth) as r:
        assert r.status == 200
    async with http.post(running.base_url + "/chat/completions", headers=auth,
                         json={**chat, "model": "sk-pt-not-a-model-but-a-key"}) as r:
        assert r.status == 404
    async with http.get(url, headers={"Authorization": f"Bearer {running.master_key}"}) as r:
        assert r.status == 200 and r.headers["content-type"].startswith("text/plain")
        text = await r.text()
    assert 'portico_requests_total{model_group="gpt-4o-mini",provider="openai",route="chat"' \
        in text
    assert "portico_upstream_attempts_total" in text and "portico_journal_pending" in text
    assert 'portico_http_requests_total{method="GET",route="/metrics",status="401"}' in text
    for leak in (running.key, running.master_key, "secret words", "sk-pt-not", "vk_"):
        assert leak not in text
