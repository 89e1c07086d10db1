"""`python -m bench stack`: the microbenchmarks behind the stack choice, in one run.
Server: uvicorn+httptools+uvloop vs granian (ASGI) on one core. Upstream client: aiohttp vs httpx
against the mock upstream. Codec: msgspec vs pydantic v2 (+orjson) on a chat request/response."""

from __future__ import annotations

import asyncio
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from bench import codec_bench, loadgen, procs
from bench.targets import ROOT

STACK_BIN = ROOT / "bench" / ".venv-stack" / "bin"
REPS = 3


def _server_argv(kind: str, port: int) -> list[str] | None:
    if kind == "uvicorn":
        return [str(ROOT / ".venv" / "bin" / "uvicorn"), "bench.stack_app:app", "--port",
                str(port), "--loop", "uvloop", "--http", "httptools", "--no-access-log",
                "--log-level", "warning"]
    if (STACK_BIN / "granian").exists():
        return [str(STACK_BIN / "granian"), "--interface", "asgi", "--loop", "uvloop",
                "--workers", "1", "--port", str(port), "--log-level", "warning",
                "--no-ws", "bench.stack_app:app"]
    return None


def _cpu_probe(pid: int) -> Callable[[], tuple[float, float]]:
    return lambda: (procs.cpu_seconds(pid), 0.0)


async def _servers(seconds: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in ("uvicorn", "granian"):
        port = procs.free_port()
        argv = _server_argv(kind, port)
        if argv is None:
            out[kind] = {"error": "not installed"}
            continue
        with TemporaryDirectory() as tmp:
            child = procs.spawn(kind, argv, "0", dict(os.environ, PYTHONPATH=str(ROOT)), port,
                                "", Path(tmp) / "log")
            try:
                raw = loadgen.chat_request("127.0.0.1", port, "/v1/chat/completions", "m", "t",
                                           False)
                runs = []
                probe = _cpu_probe(child.pid)
                for _ in range(REPS):
                    s = await loadgen.closed_loop("127.0.0.1", port, raw, 32, 0.5, seconds,
                                                  False, probe)
                    runs.append({"rps": s.rate, "cpu_us": s.cpu_s * 1e6 / max(1, s.count),
                                 "p50_us": loadgen.percentile(s.total_us, 0.5),
                                 "errors": s.errors})
                out[kind] = {"runs": runs}
            finally:
                child.stop()
    return out


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def _client_run(kind: str, url: str, body: bytes, seconds: float) -> dict[str, float]:
    headers = {"content-type": "application/json", "authorization": "Bearer t"}
    count = 0
    if kind == "aiohttp":
        import aiohttp

        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))

        async def one() -> None:
            async with session.post(url, data=body, headers=headers) as r:
                await r.read()
        close: Callable[[], Any] = session.close
    else:
        import httpx

        client = httpx.AsyncClient(limits=httpx.Limits(max_connections=100))

        async def one() -> None:
            r = await client.post(url, content=body, headers=headers)
            r.read()
        close = client.aclose
    stop = time.perf_counter() + seconds + 0.5
    t_measure = time.perf_counter() + 0.5
    cpu0 = started = 0.0

    async def user() -> None:
        nonlocal count
        while time.perf_counter() < stop:
            await one()
            if time.perf_counter() >= t_measure:
                count += 1

    async def marker() -> None:
        nonlocal cpu0, started
        await asyncio.sleep(0.5)
        cpu0, started = _cpu(), time.perf_counter()

    await asyncio.gather(marker(), *(user() for _ in range(16)))
    elapsed = time.perf_counter() - started
    cpu = _cpu() - cpu0
    await close()
    return {"rps": count / elapsed, "cpu_us": cpu * 1e6 / max(1, count)}


def _clients(seconds: float) -> dict[str, Any]:
    """Each client in its own process on core 0 against the mock upstream on core 1."""
    port = procs.free_port()
    up = subprocess.Popen(["taskset", "-c", "1", sys.executable, "-m", "bench.upstream",
                           "--port", str(port)], cwd=ROOT)
    try:
        procs.wait_port(port, 10, up)
        out: dict[str, Any] = {}
        for kind in ("aiohttp", "httpx"):
            runs = []
            for _ in range(REPS):
                done = subprocess.run(
                    ["taskset", "-c", "0", sys.executable, "-m", "bench.stack", "client", kind,
                     str(port), str(seconds)], cwd=ROOT, capture_output=True, text=True,
                    check=True)
                rps, cpu = done.stdout.split()
                runs.append({"rps": float(rps), "cpu_us": float(cpu)})
            out[kind] = {"runs": runs}
        return out
    finally:
        up.terminate()
        up.wait(10)


def run(quick: bool = False) -> dict[str, Any]:
    import uvloop

    seconds = 1.0 if quick else 4.0
    os.sched_setaffinity(0, {1})
    servers = uvloop.run(_servers(seconds))
    clients = _clients(seconds)
    os.sched_setaffinity(0, {0})
    codec = codec_bench.run(REPS, 2000 if quick else 20000)
    return {"servers": servers, "clients": clients, "codec": codec,
            "versions": codec_bench.versions(), "finished": time.time()}


def _cell(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def render(data: dict[str, Any]) -> str:
    from bench.stack_doc import render as doc

    return doc(data)


def _client_main() -> None:
    import uvloop

    kind, port, seconds = sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    body = loadgen.CHAT % (b"gpt-4o-mini", b"")
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    r = uvloop.run(_client_run(kind, url, body, seconds))
    print(r["rps"], r["cpu_us"])


if __name__ == "__main__" and sys.argv[1:2] == ["client"]:
    _client_main()
