"""A non-streamed chat response goes out before the request's bookkeeping (limit settles, ledger,
metrics), which then completes without suspending; where it could suspend it stays first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest
from starlette.requests import Request
from starlette.types import Message

from portico.pipeline.context import RequestContext
from portico.pipeline.hooks import BaseHook, Outcome
from portico.server.chat import ChatHandler
from tests.support.gateway import demo_gateway

BODY = json.dumps({"model": "gpt-4o-mini", "max_tokens": 16,
                   "messages": [{"role": "user", "content": "hello"}]}).encode()


class Recorder(BaseHook):
    name = "recorder"

    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def finalize(self, ctx: RequestContext, outcome: Outcome) -> None:
        self.log.append("finalize")


def scope_for(key: str) -> dict[str, Any]:
    return {"type": "http", "method": "POST", "path": "/v1/chat/completions",
            "headers": [(b"authorization", f"Bearer {key}".encode()),
                        (b"content-type", b"application/json")],
            "query_string": b"", "state": {"request_id": "req_after_send"}}


async def respond(handler: ChatHandler, scope: dict[str, Any], log: list[str]) -> Any:
    async def receive() -> Message:
        return {"type": "http.request", "body": BODY, "more_body": False}

    async def send(message: Message) -> None:
        log.append(message["type"])

    response = await handler(Request(scope, receive))
    log.append("handler returned")
    return response, receive, send


async def test_the_response_is_sent_before_the_bookkeeping(tmp_path: Path) -> None:
    async with demo_gateway(tmp_path) as run:
        log: list[str] = []
        run.gateway.hooks.insert(0, Recorder(log))    # finalized last
        scope = scope_for(run.key)
        response, receive, send = await respond(ChatHandler(run.gateway), scope, log)
        assert response.status_code == 200
        await response(scope, receive, send)
        assert log == ["handler returned", "http.response.start", "http.response.body",
                       "finalize"]


async def test_the_bookkeeping_does_not_suspend_with_in_process_state(tmp_path: Path) -> None:
    # Why it may follow the send: it is over before this connection's next request is read.
    async with demo_gateway(tmp_path) as run:
        log: list[str] = []
        run.gateway.hooks.insert(0, Recorder(log))
        scope = scope_for(run.key)
        response, _, _ = await respond(ChatHandler(run.gateway), scope, log)
        assert response.background is not None
        step = response.background()
        with pytest.raises(StopIteration):
            step.send(None)     # ran to the end in one step: no await suspended it
        assert log[-1] == "finalize"


async def test_with_content_capture_the_bookkeeping_stays_first(tmp_path: Path) -> None:
    async with demo_gateway(tmp_path) as run:
        cfg = run.gateway.config
        run.gateway.config = msgspec.structs.replace(
            cfg, audit=msgspec.structs.replace(cfg.audit, capture_content=True))
        log: list[str] = []
        run.gateway.hooks.insert(0, Recorder(log))
        response, _, _ = await respond(ChatHandler(run.gateway), scope_for(run.key), log)
        assert response.background is None
        assert log == ["finalize", "handler returned"]
