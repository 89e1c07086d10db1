"""Sends a planned SSE stream, applying the stream faults: ttft, gap, cut, in-band error."""

from __future__ import annotations

from portico.simulate._dialect import Dialect, Headers, Plan
from portico.simulate._exchange import Exchange
from portico.simulate.faults import Fault


async def stream_plan(
    ex: Exchange, base: Headers, plan: Plan, dialect: Dialect, fault: Fault | None
) -> None:
    headers = [(b"content-type", plan.content_type), (b"cache-control", b"no-cache"), *base]
    await ex.start(200, headers)
    # Watch from the first byte so a client cancel is seen (and timed) while we stream.
    ex.watch()
    entry = ex.entry
    if fault is None:
        for frame in plan.frames:
            if ex.gone:
                return
            await ex.chunk(frame)
            entry.chunks_sent += 1
        await ex.finish()
        return
    ttft = fault.ttft_ms / 1000.0
    gap = fault.gap_ms / 1000.0
    for i, frame in enumerate(plan.frames):
        if i == fault.cut_after:
            await ex.drop(reset=False)
            return
        if i == fault.in_band_error:
            await ex.chunk(dialect.error_frame(fault))
            entry.chunks_sent += 1
            await ex.finish()
            return
        delay = ttft if i == 0 else gap
        if delay > 0 and await ex.pause(delay):
            return
        if ex.gone:
            return
        await ex.chunk(dialect.malformed_frame() if i == 0 and fault.malformed else frame)
        entry.chunks_sent += 1
    await ex.finish()
