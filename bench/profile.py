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

PYSPY = ROOT / "bench" / ".venv-stack" / "bin" / "py-spy"
FRAME = re.compile(r"^(?P<func>.*?) \((?P<path>[^:()]*)(?::\d+)?\)$")


def available() -> bool:
    return PYSPY.exists()


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
                             seconds: float) -> dict[str, Any]:
    assert ep.child is not None
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "stacks.txt"
        spy = subprocess.Popen(
            [str(PYSPY), "record", "--format", "raw", "--rate", "250", "--nonblocking",
             "--subprocesses", "--duration", str(int(seconds)), "--output", str(out),
             "--pid", str(ep.child.pid)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        raw = loadgen.chat_request("127.0.0.1", ep.port, ep.path, ep.model, ep.token, stream)
        await loadgen.closed_loop("127.0.0.1", ep.port, raw, concurrency, 0.5, seconds + 1.0,
                                  stream)
        _, err = await asyncio.get_running_loop().run_in_executor(None, spy.communicate)
        if spy.returncode != 0 or not out.exists():
            return {"error": err.decode(errors="replace")[-400:]}
        return summarise(out.read_text())
