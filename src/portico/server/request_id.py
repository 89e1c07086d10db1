"""ASGI middleware giving every request an id and every response an `x-request-id` header."""

from __future__ import annotations

import itertools
import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class RequestIds:
    """Unique ids without a uuid4 per request: a random per-process prefix and a counter
    (uuid4 showed up at 4% of the hot path's samples)."""

    def __init__(self) -> None:
        self._prefix = "req_" + secrets.token_hex(8)
        self._counter = itertools.count(1)

    def next(self) -> str:
        return f"{self._prefix}{next(self._counter):010x}"


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.ids = RequestIds()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = self.ids.next()
        scope.setdefault("state", {})["request_id"] = rid
        header = (b"x-request-id", rid.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0] != b"x-request-id"]
                headers.append(header)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)
