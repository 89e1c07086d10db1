"""Smoke test for the benchmark harness: the mock upstream answers and the load generator
counts responses, for both forms, in about a second. Never asserts on speed."""

from __future__ import annotations

import asyncio
import socket

from bench import loadgen, upstream


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def test_upstream_and_loadgen_work_together() -> None:
    port = _port()
    ready, stop = asyncio.Event(), asyncio.Event()
    server = asyncio.create_task(upstream.serve("127.0.0.1", port, ready, stop))
    await ready.wait()
    try:
        for stream in (False, True):
            raw = loadgen.chat_request("127.0.0.1", port, "/v1/chat/completions",
                                       "gpt-4o-mini", "k", stream)
            sample = await loadgen.closed_loop("127.0.0.1", port, raw, 4, 0.1, 0.4, stream)
            assert sample.count > 0
            assert sample.errors == 0, sample.first_error
            assert len(sample.first_us) == (sample.count if stream else 0)
        raws = (loadgen.chat_request("127.0.0.1", port, "/v1/chat/completions", "m", "k",
                                     False),)
        paced = await loadgen.paced("127.0.0.1", port, raws, 50, 0.4, 2, (False,))
        assert paced.count > 0
        assert paced.errors == 0, paced.first_error
    finally:
        stop.set()
        await server


def test_stream_body_has_twenty_chunks_usage_and_done() -> None:
    events = upstream.stream_events()
    assert len(events) == 22
    assert b'"usage"' in events[20]
    assert events[21] == b"data: [DONE]\n\n"
