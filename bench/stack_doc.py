"""The text of docs/stack-choice.md from one `python -m bench stack` run."""

from __future__ import annotations

import statistics
import time
from typing import Any


def _med(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def _pair(title: str, results: dict[str, Any], base: str, unit_note: str) -> list[str]:
    lines = [f"## {title}", "", unit_note, "",
             f"| candidate | req/s (median) | CPU µs/req | ratio of req/s to {base} |",
             "|---|---|---|---|"]
    ref = results.get(base, {}).get("runs")
    for name, res in results.items():
        if "runs" not in res:
            lines.append(f"| {name} | {res.get('error', 'n/a')} | - | - |")
            continue
        rps, cpu = _med(res["runs"], "rps"), _med(res["runs"], "cpu_us")
        ratio = rps / _med(ref, "rps") if ref else float("nan")
        lines.append(f"| {name} | {rps:,.0f} | {cpu:,.0f} | {ratio:.2f} |")
    return [*lines, ""]


def render(data: dict[str, Any]) -> str:
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(data["finished"]))
    m = data["machine"]
    vers = ", ".join(f"{k} {v}" for k, v in data["versions"].items())
    codec = data["codec"]
    base = codec["msgspec"]["median_us"]
    lines = [
        "# Stack choice", "",
        f"One run of `python -m bench stack` on {when}: {m['nproc']} cores ({m['cpu']}), "
        f"kernel {m['kernel']}, Python {m['python']}; {vers}. Medians of 3 repetitions; the "
        "machine was shared with other work (load average "
        f"{m['loadavg'][0]:.1f}), so ratios matter more than absolute numbers.", "",
        *_pair("Server: uvicorn + httptools + uvloop vs granian", data["servers"], "uvicorn",
               "A minimal ASGI app (`bench/stack_app.py`: read the body, send fixed JSON) on "
               "core 0, raw HTTP/1.1 load generator on core 1, 32 keep-alive connections."),
        *_pair("Upstream client: aiohttp vs httpx", data["clients"], "aiohttp",
               "16 concurrent POSTs over one pooled client on core 0 against the mock upstream "
               "on core 1; CPU is the client process's own."),
        "## Codec: msgspec vs pydantic v2 (+ orjson)", "",
        "Decode + validate + encode of a 4-message chat request with a tool and of its "
        "response (µs per pair, median of 3).", "",
        "| candidate | µs per request+response | times msgspec |", "|---|---|---|",
        *[f"| {k} | {v['median_us']:.1f} | {v['median_us'] / base:.1f} |"
          for k, v in codec.items()], "",
        "## Choice", "",
        "- **uvicorn + httptools + uvloop**: in this run it served the minimal app faster and "
        "with less CPU per request than granian pinned to the same single core (granian's "
        "default runtime adds threads that contend for that core; its advantage reported "
        "elsewhere is with several cores). uvicorn's ASGI streaming and disconnect behaviour is "
        "what Starlette is tested against. Revisit granian for multi-core workers.",
        "- **aiohttp** for the upstream: the lower CPU per request at equal concurrency, and its "
        "`readany()` streaming gives chunk-at-a-time SSE relaying.",
        "- **msgspec** for every request and provider body: decode+validate+encode in one pass, "
        "several times cheaper than pydantic v2 with or without orjson.", "",
    ]
    return "\n".join(lines)
