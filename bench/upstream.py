"""A minimal, fast mock OpenAI upstream: raw asyncio protocol on uvloop, HTTP/1.1 keep-alive,
precomputed bodies for /v1/chat/completions (non-stream, and stream = 20 chunks plus usage)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from typing import cast

import uvloop

MODEL = "gpt-4o-mini"
CREATED = 1_700_000_000
WORDS = ("Hello", " there", ",", " this", " is", " a", " fixed", " benchmark", " reply", " of",
         " exactly", " twenty", " small", " chunks", " for", " the", " stream", " test", " ok", ".")
USAGE = {"prompt_tokens": 21, "completion_tokens": 20, "total_tokens": 41}


def completion_body() -> bytes:
    return json.dumps({
        "id": "chatcmpl-bench", "object": "chat.completion", "created": CREATED, "model": MODEL,
        "system_fingerprint": "fp_bench",
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                     "message": {"role": "assistant", "content": "".join(WORDS),
                                 "refusal": None}}],
        "usage": USAGE,
    }, separators=(",", ":")).encode()


def _chunk(choices: list[object], usage: object = None) -> bytes:
    body: dict[str, object] = {"id": "chatcmpl-bench", "object": "chat.completion.chunk",
                               "created": CREATED, "model": MODEL,
                               "system_fingerprint": "fp_bench", "choices": choices}
    if usage is not None:
        body["usage"] = usage
    return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


def stream_events() -> list[bytes]:
    """20 content chunks (the last one carries finish_reason), a usage chunk, and [DONE]."""
    events = []
    for i, word in enumerate(WORDS):
        delta: dict[str, object] = {"content": word}
        if i == 0:
            delta["role"] = "assistant"
        finish = "stop" if i == len(WORDS) - 1 else None
        events.append(_chunk([{"index": 0, "delta": delta, "logprobs": None,
                               "finish_reason": finish}]))
    events.append(_chunk([], USAGE))
    events.append(b"data: [DONE]\n\n")
    return events


def _chunked(parts: list[bytes]) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


def build_responses() -> tuple[bytes, bytes, bytes]:
    body = completion_body()
    plain = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
             b"content-length: %d\r\nx-request-id: req_bench\r\n\r\n" % len(body)) + body
    stream = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
              b"transfer-encoding: chunked\r\ncache-control: no-cache\r\n"
              b"x-request-id: req_bench\r\n\r\n") + _chunked(stream_events())
    missing = b'{"error":{"message":"not found","type":"invalid_request_error"}}'
    not_found = (b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\n"
                 b"content-length: %d\r\n\r\n" % len(missing)) + missing
    return plain, stream, not_found


class UpstreamProtocol(asyncio.Protocol):
    """Parses pipelined-safe HTTP/1.1 requests with Content-Length bodies; never chunked ones."""

    def __init__(self, responses: tuple[bytes, bytes, bytes], counter: list[int]) -> None:
        self._plain, self._stream, self._missing = responses
        self._buf = b""
        self._counter = counter
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only duck-compatible.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        buf = self._buf + data if self._buf else data
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buf[:end]
            length = 0
            lower = head.lower()
            at = lower.find(b"\r\ncontent-length:")
            if at >= 0:
                stop = lower.find(b"\r\n", at + 2)
                length = int(lower[at + 17: stop if stop >= 0 else len(lower)])
            total = end + 4 + length
            if len(buf) < total:
                break
            body = buf[end + 4: total]
            buf = buf[total:]
            self._answer(head, body)
        self._buf = buf

    def _answer(self, head: bytes, body: bytes) -> None:
        assert self._transport is not None
        self._counter[0] += 1
        if b" /v1/chat/completions " not in head[:64]:
            self._transport.write(self._missing)
        elif b'"stream":true' in body or b'"stream": true' in body:
            self._transport.write(self._stream)
        else:
            self._transport.write(self._plain)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None


async def serve(host: str, port: int, ready: asyncio.Event | None = None,
                stop: asyncio.Event | None = None) -> None:
    loop = asyncio.get_running_loop()
    responses = build_responses()
    counter = [0]
    server = await loop.create_server(lambda: UpstreamProtocol(responses, counter), host, port,
                                      backlog=4096, reuse_address=True)
    if ready is not None:
        ready.set()
    async with server:
        if stop is None:
            await server.serve_forever()
        else:
            await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="mock OpenAI upstream for benchmarks")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cpu", type=int, default=None, help="pin to this core")
    args = parser.parse_args()
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    uvloop.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
