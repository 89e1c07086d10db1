"""build_app driven directly over ASGI (no server), and the package's import independence."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest

import portico.simulate
from portico.simulate import build_app
from portico.simulate._exchange import AbortResponse

PACKAGE = Path(portico.simulate.__file__).parent


async def call(app: Any, path: str, body: dict[str, object], headers: list[tuple[bytes, bytes]],
               method: str = "POST") -> tuple[int, bytes]:
    raw = json.dumps(body).encode()
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "query_string": b"",
             "headers": headers}
    await app(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


async def test_build_app_serves_without_a_server() -> None:
    app = build_app("openai", seed=7)
    status, body = await call(app, "/v1/chat/completions",
                              {"model": "m", "messages": [{"role": "user", "content": "hi"}]},
                              [(b"authorization", b"Bearer k")])
    assert status == 200 and json.loads(body)["id"] == "chatcmpl-sim7-1"
    assert app.ledger.last().sim_id == "sim7-1"


async def test_reset_without_transport_access_aborts() -> None:
    app = build_app("anthropic")
    with pytest.raises(AbortResponse):
        await call(app, "/v1/messages", {"model": "m", "max_tokens": 5, "messages": []},
                   [(b"x-api-key", b"k"), (b"x-sim-fault", b"reset")])


def test_simulators_import_no_adapter_or_http_client() -> None:
    banned = ("portico.adapters", "aiohttp", "httpx", "requests")
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert not name.startswith(banned), f"{path.name} imports {name}"
