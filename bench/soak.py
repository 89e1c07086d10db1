"""`python -m bench soak --seconds N`: Portico (SQLite, full pipeline) at a steady request rate
(3 non-stream : 1 stream) for N seconds, sampling RSS and open descriptors every second."""

from __future__ import annotations

import asyncio
import os
import secrets
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import loadgen, procs, targets, upstream
from bench.runner import BENCH_CPU, GATEWAY_CPUS


async def _sampler(pid: int, t0: float, stop: asyncio.Event,
                   series: list[dict[str, float]]) -> None:
    while not stop.is_set():
        series.append({"t": round(time.monotonic() - t0, 2), "rss_mb": procs.rss_mb(pid),
                       "fds": procs.open_fds(pid), "cpu_s": procs.cpu_seconds(pid)})
        try:
            await asyncio.wait_for(stop.wait(), 1.0)
        except TimeoutError:
            continue


def _growth(series: list[dict[str, float]]) -> dict[str, float]:
    """RSS after warm-up (second tenth of the run) against the last tenth, as medians."""
    n = len(series)
    tenth = max(1, n // 10)
    early = statistics.median(s["rss_mb"] for s in series[tenth:2 * tenth] or series[:1])
    late = statistics.median(s["rss_mb"] for s in series[-tenth:])
    fds_early = statistics.median(s["fds"] for s in series[tenth:2 * tenth] or series[:1])
    fds_late = statistics.median(s["fds"] for s in series[-tenth:])
    return {"rss_early_mb": early, "rss_late_mb": late,
            "rss_growth_pct": 100 * (late - early) / early if early else float("nan"),
            "fds_early": fds_early, "fds_late": fds_late,
            "rss_max_mb": max(s["rss_mb"] for s in series)}


async def soak(seconds: int, rate: float) -> dict[str, Any]:
    os.sched_setaffinity(0, {BENCH_CPU})
    up_port = procs.free_port()
    up_key = "sk-upstream-" + secrets.token_hex(8)
    ready, stop_up = asyncio.Event(), asyncio.Event()
    server = asyncio.create_task(upstream.serve("127.0.0.1", up_port, ready, stop_up))
    await ready.wait()
    series: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="portico-soak-") as tmp:
        ep = targets.start_portico("portico-sqlite", Path(tmp), up_port, up_key,
                                   cpus=GATEWAY_CPUS)
        assert ep.child is not None
        try:
            raws = tuple(loadgen.chat_request("127.0.0.1", ep.port, ep.path, ep.model,
                                              ep.token, s) for s in (False, False, False, True))
            stop = asyncio.Event()
            t0 = time.monotonic()
            sampler = asyncio.create_task(_sampler(ep.child.pid, t0, stop, series))
            sample = await loadgen.paced("127.0.0.1", ep.port, raws, rate, seconds,
                                         connections=32, streams=(False, False, False, True))
            stop.set()
            await sampler
            db_bytes = sum(f.stat().st_size for f in Path(tmp).glob("portico.db*"))
        finally:
            ep.child.stop()
    stop_up.set()
    await server
    return {"seconds": seconds, "rate": rate, "achieved_rps": sample.rate,
            "count": sample.count, "errors": sample.errors, "first_error": sample.first_error,
            "p50_us": loadgen.percentile(sample.total_us, 0.5),
            "p99_us": loadgen.percentile(sample.total_us, 0.99),
            "series": series, "summary": _growth(series), "db_bytes": db_bytes,
            "loadavg": os.getloadavg()}


def run(seconds: int, rate: float) -> dict[str, Any]:
    import uvloop

    try:
        os.nice(-10)
    except PermissionError:
        print("could not raise priority; results share the CPU with other load")
    return uvloop.run(soak(seconds, rate))
