"""Machine description and the results documents (docs/benchmarks.md, docs/stack-choice.md)."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

LIBS = ("uvicorn", "uvloop", "httptools", "starlette", "aiohttp", "msgspec", "orjson",
        "sqlalchemy", "aiosqlite", "asyncpg", "redis")


def machine() -> dict[str, Any]:
    cpu = ""
    for line in subprocess.run(["lscpu"], capture_output=True, text=True,
                               check=False).stdout.splitlines():
        if line.startswith("Model name:"):
            cpu = line.split(":", 1)[1].strip()
    return {"nproc": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
            "python": platform.python_version(),
            "libs": {n: _version(n) for n in LIBS}, "loadavg": os.getloadavg()}


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "-"


ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
IMG = DOCS / "img"
STACK_PY = ROOT / "bench" / ".venv-stack" / "bin" / "python"
NAN = float("nan")


def _med(values: list[float]) -> tuple[float, float, float]:
    vals = [v for v in values if v == v]
    if not vals:
        return NAN, NAN, NAN
    return statistics.median(vals), min(vals), max(vals)


def fmt(values: list[float], digits: int = 0, scale: float = 1.0) -> str:
    med, lo, hi = _med([v * scale for v in values])
    if med != med:
        return "-"
    return f"{med:,.{digits}f} ({lo:,.{digits}f}-{hi:,.{digits}f})"


def aggregate(rows: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, list[float]]]:
    """Per (scenario, endpoint): per-repetition values, latencies relative to direct."""
    direct = {(r["scenario"], r["rep"]): r for r in rows if r["endpoint"] == "direct"}
    out: dict[tuple[str, str], dict[str, list[float]]] = {}
    for r in rows:
        d = direct.get((r["scenario"], r["rep"]))
        agg = out.setdefault((r["scenario"], r["endpoint"]), {})
        vals = {"rps": r["rps"], "p50": r["p50_us"], "p99": r["p99_us"],
                "first_p50": r["first_p50_us"], "errors": r["errors"],
                "cpu_ms": r.get("cpu_ms_per_req", NAN), "wait_ms": r.get("wait_ms_per_req", NAN),
                "rss": r.get("peak_rss_mb", NAN), "util": r.get("cpu_util", NAN)}
        if d is not None:
            vals.update(ratio=r["rps"] / d["rps"] if d["rps"] else NAN,
                        add_p50=r["p50_us"] - d["p50_us"], add_p99=r["p99_us"] - d["p99_us"],
                        add_first_p50=r["first_p50_us"] - d["first_p50_us"])
        for k, v in vals.items():
            agg.setdefault(k, []).append(v)
    return out


def plot(spec: dict[str, Any], name: str) -> str | None:
    """Render with the bench venv's matplotlib; None (and no image) when it is missing."""
    if not STACK_PY.exists():
        return None
    IMG.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(spec, fh)
    out = IMG / name
    done = subprocess.run([str(STACK_PY), "-m", "bench.plots", fh.name, str(out)], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    os.unlink(fh.name)
    if done.returncode != 0:
        print("plot failed:", done.stderr[-300:])
        return None
    return f"img/{name}"


def _load(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.exists() else None


def write_all(results: Path) -> None:
    from bench import report_doc

    run = _load(results / "run.json")
    if run is None:
        raise SystemExit("no bench/results/run.json: run `python -m bench run` first")
    if run.get("litellm_version") in (None, "-") and any(
            r["endpoint"] == "litellm" for r in run["rows"]):
        from bench.targets import litellm_version

        run["litellm_version"] = litellm_version()
    run.setdefault("notes", []).extend(feature_notes())
    text = report_doc.benchmarks_md(run, _load(results / "soak.json"))
    (DOCS / "benchmarks.md").write_text(text)
    print("wrote", DOCS / "benchmarks.md")


def feature_notes() -> list[str]:
    """What the limits, Redis and PII endpoints exercise (variants are opt-in: `--variants`)."""
    return ["Limits: `portico-sqlite` and `portico-pg-redis` both run the full pipeline: the "
            "virtual key has requests- and tokens-per-minute limits (1e8 / 1e11), the upstream "
            "key requests, tokens and concurrency limits (1e8 / 1e11 per minute, 100,000 "
            "parallel), none of which binds. The SQLite endpoint keeps the limit state in "
            "memory, the PostgreSQL endpoint in Redis (every request runs the Lua scripts "
            "there). `portico-sqlite-nolimits` (`--variants no-limits`) is the same SQLite "
            "pipeline with no limit configured, to show what the limiter costs.",
            "PII: `portico-pii-patterns` masks with validated patterns only "
            "(`pii: {mode: mask, use_model: false}`); `portico-pii-model` adds the spaCy model "
            "(`pii: {mode: mask}`), so its RSS includes the model."]


def write_stack(data: dict[str, Any]) -> None:
    from bench import report_doc

    (DOCS / "stack-choice.md").write_text(report_doc.stack_md(data))
    print("wrote", DOCS / "stack-choice.md")
