"""A minimal ASGI app for the server microbenchmark (stdlib only, so granian's venv can load it):
reads the POST body and answers a fixed chat-completion JSON."""

from __future__ import annotations

from typing import Any

BODY = (b'{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,'
        b'"model":"gpt-4o-mini","choices":[{"index":0,"finish_reason":"stop","message":'
        b'{"role":"assistant","content":"Hello there, this is a fixed benchmark reply."}}],'
        b'"usage":{"prompt_tokens":21,"completion_tokens":20,"total_tokens":41}}')
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
