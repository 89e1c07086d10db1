"""`python -m bench run`: every scenario against direct-to-upstream and each gateway in the same
run, interleaved per repetition, aggregated as medians with min-max over repetitions."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import loadgen, procs, targets, upstream
from bench.targets import Endpoint

GATEWAY_CPUS = "0"
BENCH_CPU = 1


@dataclass(frozen=True)
class Scenario:
    name: str
    stream: bool
    concurrency: int
    label: str


SCENARIOS = (
    Scenario("chat-c1", False, 1, "non-stream, c=1"),
    Scenario("chat-c16", False, 16, "non-stream, c=16"),
    Scenario("chat-c64", False, 64, "non-stream, c=64"),
    Scenario("stream-c1", True, 1, "stream 20 chunks + usage, c=1"),
    Scenario("stream-c16", True, 16, "stream 20 chunks + usage, c=16"),
)
SCALING = Scenario("chat-c64", False, 64, "non-stream, c=64")


@dataclass
class Options:
    quick: bool
    scenarios: tuple[str, ...]
    with_litellm: bool
    repetitions: int
    postgres: bool = True
    scaling: bool = True
    profile: bool = True
    variants: tuple[str, ...] = ()     # extra endpoints: pii-patterns, pii-model, no-limits
    baseline: Path | None = None       # a `src` tree run as portico-sqlite-baseline (A/B)

    @property
    def warmup(self) -> float:
        return 0.3 if self.quick else 1.0

    @property
    def seconds(self) -> float:
        return 1.5 if self.quick else 5.0


async def run_one(ep: Endpoint, sc: Scenario, opts: Options) -> dict[str, Any]:
    raw = loadgen.chat_request("127.0.0.1", ep.port, ep.path, ep.model, ep.token, sc.stream)
    child = ep.child
    probe = (lambda: (procs.cpu_seconds(child.pid), procs.runqueue_wait_seconds(child.pid))) \
        if child is not None else None
    s = await loadgen.closed_loop("127.0.0.1", ep.port, raw, sc.concurrency, opts.warmup,
                                  opts.seconds, sc.stream, probe)
    row: dict[str, Any] = {
        "endpoint": ep.name, "scenario": sc.name, "count": s.count, "rps": s.rate,
        "errors": s.errors, "first_error": s.first_error,
        "p50_us": loadgen.percentile(s.total_us, 0.5),
        "p99_us": loadgen.percentile(s.total_us, 0.99),
        "first_p50_us": loadgen.percentile(s.first_us, 0.5),
        "first_p99_us": loadgen.percentile(s.first_us, 0.99),
    }
    if child is not None:
        row["cpu_ms_per_req"] = s.cpu_s * 1000 / s.count if s.count else float("nan")
        row["cpu_util"] = s.cpu_s / s.seconds
        row["wait_ms_per_req"] = s.wait_s * 1000 / s.count if s.count else float("nan")
        row["peak_rss_mb"] = procs.peak_rss_mb(child.pid)
    return row


async def _start_endpoints(folder: Path, up_port: int, up_key: str, opts: Options,
                           notes: list[str]) -> list[Endpoint]:
    """The headline endpoints run the full pipeline, limits included (in memory on SQLite,
    on Redis with PostgreSQL); `no-limits` adds the SQLite pipeline without any limit."""
    eps = [targets.start_portico("portico-sqlite", folder / "sqlite", up_port, up_key,
                                 cpus=GATEWAY_CPUS)]
    if opts.postgres:
        eps.append(targets.start_portico("portico-pg-redis", folder / "pg", up_port, up_key,
                                         cpus=GATEWAY_CPUS, backend="postgres"))
    if opts.baseline is not None:
        eps.append(targets.start_portico("portico-sqlite-baseline", folder / "base", up_port,
                                         up_key, cpus=GATEWAY_CPUS, source=opts.baseline))
    if "no-limits" in opts.variants:
        eps.append(targets.start_portico("portico-sqlite-nolimits", folder / "nolim", up_port,
                                         up_key, cpus=GATEWAY_CPUS, limits=False))
    if "pii-patterns" in opts.variants:
        eps.append(targets.start_portico("portico-pii-patterns", folder / "piip", up_port,
                                         up_key, cpus=GATEWAY_CPUS, extra=targets.PII_PATTERNS))
    if "pii-model" in opts.variants:
        eps.append(targets.start_portico("portico-pii-model", folder / "piim", up_port,
                                         up_key, cpus=GATEWAY_CPUS, extra=targets.PII_MODEL))
    for ep in eps:
        if ep.name != "portico-sqlite-nolimits":
            problems = await asyncio.to_thread(targets.check_limits, ep)
            if problems:
                raise RuntimeError("; ".join(problems))
            notes.append(f"`{ep.name}`: checked before measuring that the inbound and "
                         "upstream-key limits engage"
                         + (" (limit state in Redis)" if ep.redis_prefix else " (in memory)"))
            print(notes[-1], flush=True)
    if opts.with_litellm:
        if targets.litellm_available():
            eps.append(targets.start_litellm(folder / "litellm", up_port, up_key,
                                             cpus=GATEWAY_CPUS))
        else:
            notes.append("LiteLLM requested but bench/.venv-litellm is missing; run "
                         "`python -m bench install-litellm` first")
    return eps


async def run_all(opts: Options) -> dict[str, Any]:
    os.sched_setaffinity(0, {BENCH_CPU})
    notes: list[str] = []
    up_port = procs.free_port()
    up_key = "sk-upstream-" + secrets.token_hex(8)
    ready, stop = asyncio.Event(), asyncio.Event()
    server = asyncio.create_task(upstream.serve("127.0.0.1", up_port, ready, stop))
    await ready.wait()
    direct = Endpoint("direct", up_port, "/v1/chat/completions", up_key,
                      targets.UPSTREAM_MODEL)
    scenarios = [s for s in SCENARIOS if not opts.scenarios or s.name in opts.scenarios]
    rows: list[dict[str, Any]] = []
    scaling: list[dict[str, Any]] = []
    load = [os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="portico-bench-") as tmp:
        eps: list[Endpoint] = []
        try:
            eps = await _start_endpoints(Path(tmp), up_port, up_key, opts, notes)
            for ep in eps:     # warm every path once (imports, pools, prepared statements)
                for sc in scenarios:
                    await loadgen.closed_loop("127.0.0.1", ep.port, loadgen.chat_request(
                        "127.0.0.1", ep.port, ep.path, ep.model, ep.token, sc.stream),
                        min(sc.concurrency, 16), 0.0, 0.5, sc.stream)
            for rep in range(opts.repetitions):
                for sc in scenarios:
                    for ep in [direct, *eps]:
                        row = await run_one(ep, sc, opts)
                        row["rep"] = rep
                        rows.append(row)
                        print(_line(row), flush=True)
            if opts.scaling:
                scaling = await _scaling(Path(tmp), up_port, up_key, opts, eps[0], notes)
            profiles = await _profiles(eps[0], opts) if opts.profile else {}
        finally:
            for ep in eps:
                if ep.child is not None:
                    ep.child.stop()
    load.append(os.getloadavg())
    stop.set()
    await server
    return {"rows": rows, "scaling": scaling, "profiles": profiles, "notes": notes,
            "loadavg": load, "options": dict(asdict(opts)),
            "scenarios": [asdict(s) for s in scenarios], "finished": time.time()}


async def _scaling(folder: Path, up_port: int, up_key: str, opts: Options,
                   one: Endpoint, notes: list[str]) -> list[dict[str, Any]]:
    """1 worker on core 0 versus `portico serve --workers 2` on cores 0-1 (core 1 shared with
    the load generator and upstream). Falls back to two single-worker processes if the
    2-worker server does not start."""
    w2: Endpoint | None = None
    try:
        w2 = targets.start_portico("portico-workers-2", folder / "w2", up_port, up_key,
                                   cpus="0,1", workers=2)
        await asyncio.sleep(3.0)
        if w2.child is None or w2.child.proc.poll() is not None:
            w2 = None
    except RuntimeError:
        w2 = None
    out: list[dict[str, Any]] = []
    if w2 is not None:
        try:
            await loadgen.closed_loop("127.0.0.1", w2.port, loadgen.chat_request(
                "127.0.0.1", w2.port, w2.path, w2.model, w2.token, False), 16, 0.0, 1.0, False)
            for rep in range(opts.repetitions):
                row = await run_one(one, SCALING, opts)
                row.update(rep=rep, workers=1)
                out.append(row)
                row = await run_one(w2, SCALING, opts)
                row.update(rep=rep, workers=2)
                out.append(row)
                print("scaling", _line(out[-2]), "|", _line(row), flush=True)
        finally:
            if w2.child is not None:
                w2.child.stop()
        return out
    notes.append("`portico serve --workers 2` did not start; scaling is measured with two "
                 "single-worker processes (own journal and SQLite file each), the load split "
                 "evenly between them.")
    second = targets.start_portico("portico-core1", folder / "core1", up_port, up_key, cpus="1")
    half = Scenario(SCALING.name, False, SCALING.concurrency // 2, SCALING.label)
    try:
        for rep in range(opts.repetitions):
            row = await run_one(one, SCALING, opts)
            row.update(rep=rep, workers=1)
            out.append(row)
            pair = await asyncio.gather(run_one(one, half, opts), run_one(second, half, opts))
            row = dict(pair[0], rep=rep, workers=2, rps=pair[0]["rps"] + pair[1]["rps"],
                       cpu_util=pair[0]["cpu_util"] + pair[1]["cpu_util"],
                       cpu_ms_per_req=(pair[0]["cpu_ms_per_req"] + pair[1]["cpu_ms_per_req"]) / 2,
                       p50_us=max(pair[0]["p50_us"], pair[1]["p50_us"]))
            out.append(row)
            print("scaling", _line(out[-2]), "|", _line(row), flush=True)
    finally:
        if second.child is not None:
            second.child.stop()
    return out


async def _profiles(ep: Endpoint, opts: Options) -> dict[str, Any]:
    from bench import profile

    if ep.child is None or not profile.available():
        return {}
    out: dict[str, Any] = {}
    for sc in (SCENARIOS[2], SCENARIOS[4]):
        out[sc.name] = await profile.profile_under_load(ep, sc.stream, sc.concurrency,
                                                        8.0 if not opts.quick else 3.0)
    return out


def _line(row: dict[str, Any]) -> str:
    extra = ""
    if "cpu_ms_per_req" in row:
        extra = (f" cpu={row['cpu_ms_per_req']:.3f}ms wait={row['wait_ms_per_req']:.3f}ms"
                 f" rss={row['peak_rss_mb']:.0f}MB")
    first = f" first_p50={row['first_p50_us']:.0f}us" if row["first_p50_us"] == \
        row["first_p50_us"] else ""
    return (f"{row['scenario']:<11} {row['endpoint']:<17} {row['rps']:8.0f} req/s "
            f"p50={row['p50_us']:.0f}us p99={row['p99_us']:.0f}us{first}{extra} "
            f"errors={row['errors']} {row['first_error'][:80]}")


def run(opts: Options) -> dict[str, Any]:
    import uvloop

    with contextlib.suppress(PermissionError):
        os.nice(-10)   # favour the measured processes over unrelated load on a shared machine
    return uvloop.run(run_all(opts))
