"""py-spy profile of a gateway under load: collapsed stacks summarised as top functions by
self and by inclusive share of samples (file:line stripped so one function is one row)."""

from __future__ import annotations

import asyncio
import re
import subprocess
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from bench import loadgen
from bench.targets import ROOT, Endpoint

# py-spy lives in the project venv (dev extra); older checkouts had it in the stack venv.
PYSPY_CANDIDATES = (ROOT / ".venv" / "bin" / "py-spy",
                    ROOT / "bench" / ".venv-stack" / "bin" / "py-spy")
FRAME = re.compile(r"^(?P<func>.*?) \((?P<path>[^:()]*)(?::\d+)?\)$")


def pyspy() -> Path | None:
    return next((p for p in PYSPY_CANDIDATES if p.exists()), None)


def available() -> bool:
    return pyspy() is not None


def _short(frame: str) -> str:
    m = FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    path = m.group("path")
    for marker in ("site-packages/", "src/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{m.group('func')} ({path})"


def summarise(collapsed: str, top: int = 25) -> dict[str, Any]:
    own: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_short(f) for f in stack.split(";")]
        total += n
        own[frames[-1]] += n
        for f in set(frames):
            incl[f] += n

    def share(c: Counter[str]) -> list[tuple[str, float]]:
        return [(f, round(100 * n / total, 1)) for f, n in c.most_common(top)] if total else []

    portico = Counter({f: n for f, n in incl.items() if "portico/" in f})
    return {"samples": total, "self": share(own), "inclusive": share(incl),
            "portico_inclusive": share(portico)}


async def profile_under_load(ep: Endpoint, stream: bool, concurrency: int,
                             seconds: float, keep: Path | None = None) -> dict[str, Any]:
    """py-spy over `seconds` of closed-loop load; `keep` also saves the collapsed stacks."""
    assert ep.child is not None
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "stacks.txt"
        spy = subprocess.Popen(
            [str(pyspy()), "record", "--format", "raw", "--rate", "250", "--nonblocking",
             "--subprocesses", "--duration", str(int(seconds)), "--output", str(out),
             "--pid", str(ep.child.pid)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        raw = loadgen.chat_request("127.0.0.1", ep.port, ep.path, ep.model, ep.token, stream)
        await loadgen.closed_loop("127.0.0.1", ep.port, raw, concurrency, 0.5, seconds + 1.0,
                                  stream)
        _, err = await asyncio.get_running_loop().run_in_executor(None, spy.communicate)
        if spy.returncode != 0 or not out.exists():
            return {"error": err.decode(errors="replace")[-400:]}
        text = out.read_text(errors="replace")   # py-spy may emit stray non-UTF-8 bytes
        if keep is not None:
            keep.write_text(text)
        return summarise(text)


async def _standalone(scenario: str, seconds: float, limits: bool, keep: Path) -> dict[str, Any]:
    import os
    import secrets

    from bench import procs, runner, targets, upstream

    os.sched_setaffinity(0, {runner.BENCH_CPU})
    sc = next(s for s in runner.SCENARIOS if s.name == scenario)
    up_port, up_key = procs.free_port(), "sk-upstream-" + secrets.token_hex(8)
    ready, stop = asyncio.Event(), asyncio.Event()
    server = asyncio.create_task(upstream.serve("127.0.0.1", up_port, ready, stop))
    await ready.wait()
    try:
        with tempfile.TemporaryDirectory(prefix="portico-profile-") as tmp:
            ep = targets.start_portico("portico-sqlite", Path(tmp), up_port, up_key,
                                       cpus=runner.GATEWAY_CPUS, limits=limits)
            try:
                raw = loadgen.chat_request("127.0.0.1", ep.port, ep.path, ep.model, ep.token,
                                           sc.stream)
                await loadgen.closed_loop("127.0.0.1", ep.port, raw, sc.concurrency, 0.0, 2.0,
                                          sc.stream)
                return await profile_under_load(ep, sc.stream, sc.concurrency, seconds, keep)
            finally:
                if ep.child is not None:
                    ep.child.stop()
    finally:
        stop.set()
        await server


def run(scenario: str, seconds: float, limits: bool, keep: Path) -> dict[str, Any]:
    """`python -m bench profile`: one scenario against portico-sqlite, stacks saved to `keep`."""
    import uvloop

    return uvloop.run(_standalone(scenario, seconds, limits, keep))
