"""Systems under test: Portico on SQLite, on PostgreSQL + Redis, with N workers, and LiteLLM
proxy, each configured against the same mock upstream and started pinned to the gateway cores.

Portico runs the full pipeline: a virtual key with its own request and token limits, and an
upstream key with request, token and concurrency limits, all far above the load (they never
bind, but every request reserves and settles on them: in memory on SQLite, on Redis with
PostgreSQL). `check_limits` proves at startup that both limiters engage in the served process.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench.procs import Child, free_port, spawn

ROOT = Path(__file__).resolve().parents[1]
PORTICO = ROOT / ".venv" / "bin" / "portico"
LITELLM_VENV = ROOT / "bench" / ".venv-litellm"
LITELLM = LITELLM_VENV / "bin" / "litellm"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
MODEL = "bench-model"
UPSTREAM_MODEL = "gpt-4o-mini"


@dataclass(frozen=True)
class Endpoint:
    """Where the load generator sends, and with which bearer token and model name."""

    name: str
    port: int
    path: str
    token: str
    model: str
    child: Child | None = None
    master: str | None = None          # Portico's master key (admin API), for check_limits
    redis_prefix: str | None = None    # where its limits live in Redis, if they do


def _env(upstream_key: str, master: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(BENCH_UPSTREAM_KEY=upstream_key, BENCH_MASTER_KEY=master,
               LITELLM_MASTER_KEY=master, LITELLM_LOCAL_MODEL_COST_MAP="True",
               LITELLM_LOG="ERROR", TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS="")
    return env


# Variants of the Portico config: PII masking (patterns only, or with the spaCy model).
PII_PATTERNS = "pii: {mode: mask, use_model: false}\n"
PII_MODEL = "pii: {mode: mask}\n"
# Non-binding limits (the load is ~3,000 req/s, ~150 tokens each): the upstream key's requests,
# tokens and concurrency, and the virtual key's requests and tokens per minute.
UPSTREAM_LIMITS = ("{requests_per_minute: 100000000, tokens_per_minute: 100000000000, "
                   "concurrency: 100000}")
KEY_SETTINGS = {"requests_per_minute": 100_000_000, "tokens_per_minute": 100_000_000_000}
# A second model group on a probe upstream key with one request per minute, for check_limits.
# A denied request would wait in the key's queue for queue_max_wait_seconds; the bench keeps
# that short so the probe answers quickly (it changes nothing for requests that are admitted).
PROBE_MODEL = "bench-probe"
PROBE_LIMITS = "{requests_per_minute: 1}"


def portico_yaml(folder: Path, upstream_port: int, store_url: str, redis_url: str | None,
                 port: int, workers: int, extra: str = "", limits: bool = True) -> str:
    redis = f"redis: {{url: \"{redis_url}\", prefix: \"{redis_prefix(folder)}\"}}\n" \
        if redis_url else ""
    base = f"http://127.0.0.1:{upstream_port}/v1"
    key_limits = f", limits: {UPSTREAM_LIMITS}" if limits else ""
    probe = (f"  probe: {{type: openai, base_url: \"{base}\", internal: true,"
             f" keys: [{{id: p1, key: env:BENCH_UPSTREAM_KEY, limits: {PROBE_LIMITS}}}]}}\n"
             if limits else "")
    probe_model = (f"  - name: {PROBE_MODEL}\n"
                   f"    deployments: [{{provider: probe, model: {UPSTREAM_MODEL}}}]\n"
                   if limits else "")
    return (
        "master_key: env:BENCH_MASTER_KEY\n"
        f"server: {{host: 127.0.0.1, port: {port}, workers: {workers}}}\n"
        f"store: {{url: \"{store_url}\", journal_path: \"{folder}/journal\"}}\n"
        + ("limits: {queue_max_wait_seconds: 0.2}\n" if limits else "")
        + f"{redis}{extra}"
        "providers:\n"
        f"  openai: {{base_url: \"{base}\", internal: true,"
        f" keys: [{{id: k1, key: env:BENCH_UPSTREAM_KEY{key_limits}}}]}}\n"
        f"{probe}"
        "models:\n"
        f"  - name: {MODEL}\n"
        f"    deployments: [{{provider: openai, model: {UPSTREAM_MODEL}}}]\n"
        f"{probe_model}"
    )


def redis_prefix(folder: Path) -> str:
    return f"bench{os.getpid()}{folder.name}"


def fresh_pg_database(name: str) -> str:
    for sql in (f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"):
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-q",
                        "-c", sql], check=True, capture_output=True)
    return f"{PG_SERVER}/{name}"


def _post(port: int, path: str, token: str, body: object,
          timeout: float = 10.0) -> tuple[int, dict[str, object]]:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(), method="POST",
        headers={"authorization": f"Bearer {token}", "content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def mint_key(port: int, master: str, name: str, settings: dict[str, int] | None) -> str:
    """A virtual key through the admin API (the CLI has no per-key limit options)."""
    status, body = _post(port, "/admin/keys", master,
                         {"name": name, **({"settings": settings} if settings else {})})
    if status != 201:
        raise RuntimeError(f"minting a key answered {status}: {body}")
    return str(body["key"])


def start_portico(name: str, folder: Path, upstream_port: int, upstream_key: str, *,
                  cpus: str, backend: str = "sqlite", workers: int = 1, extra: str = "",
                  limits: bool = True, source: Path | None = None) -> Endpoint:
    """`backend` is "sqlite" or "postgres" (PostgreSQL store plus Redis for the limits).
    `limits=False` drops every limit (the pipeline without the limiter, for comparison).
    `source`: a `src` directory to run instead of the installed tree (a before/after A/B in
    one run: PYTHONPATH wins over the editable install)."""
    folder.mkdir(parents=True, exist_ok=True)
    master = "sk-master-" + secrets.token_urlsafe(16)
    port = free_port()
    if backend == "postgres":
        store_url = fresh_pg_database(f"portico_bench_{os.getpid()}_{name.replace('-', '_')}")
        redis_url: str | None = "redis://127.0.0.1:6379/0"
    else:
        store_url, redis_url = f"sqlite:///{folder}/portico.db", None
    config = folder / "portico.yaml"
    config.write_text(portico_yaml(folder, upstream_port, store_url, redis_url, port, workers,
                                   extra, limits))
    argv = [str(PORTICO), "serve", "--config", str(config)]
    if workers > 1:
        argv += ["--workers", str(workers)]
    env = _env(upstream_key, master)
    if source is not None:
        env["PYTHONPATH"] = str(source)
    child = spawn(name, argv, cpus, env, port, master, folder / "serve.log")
    try:
        token = mint_key(port, master, "bench", KEY_SETTINGS if limits else None)
    except (RuntimeError, OSError):
        child.stop()
        raise
    return Endpoint(name, port, "/v1/chat/completions", token, MODEL, child, master,
                    redis_prefix(folder) if redis_url and limits else None)


def _chat(port: int, token: str, model: str) -> tuple[int, str]:
    status, body = _post(port, "/v1/chat/completions", token, {
        "model": model, "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]})
    err = body.get("error")
    return status, (str(err.get("code")) + ": " + str(err.get("message"))
                    if isinstance(err, dict) else "")


def check_limits(ep: Endpoint) -> list[str]:
    """Evidence that the limiters engage in this served process: a probe virtual key allowed
    one request per minute gets a 429 from the inbound limit on its second request, and the
    probe model group's upstream key (one request per minute) answers its second request
    with the capacity gate's 429. With Redis, the bench key's limit state must be there.
    Returns problems (empty when every check passed)."""
    problems: list[str] = []
    if ep.master is None:
        return ["no master key: cannot probe the limits"]
    probe = mint_key(ep.port, ep.master, "bench-probe", {"requests_per_minute": 1})
    got = [_chat(ep.port, probe, MODEL) for _ in range(2)]
    if got[0][0] != 200 or got[1][0] != 429 or "vkey:" not in got[1][1]:
        problems.append(f"{ep.name}: the inbound limit did not engage: {got}")
    got = [_chat(ep.port, ep.token, PROBE_MODEL) for _ in range(2)]
    if got[0][0] != 200 or got[1][0] != 429 or "upstream_capacity" not in got[1][1]:
        problems.append(f"{ep.name}: the upstream-key limit did not engage: {got}")
    if ep.redis_prefix is not None:
        keys = redis_keys(ep.redis_prefix)
        for scope in ("vkey:", "upstream:openai:k1"):
            if not any(scope in k for k in keys):
                problems.append(f"{ep.name}: no Redis state for {scope} under "
                                f"{ep.redis_prefix} ({len(keys)} keys)")
    return problems


def redis_keys(prefix: str) -> list[str]:
    import redis

    client = redis.Redis.from_url("redis://127.0.0.1:6379/0", decode_responses=True)
    try:
        return list(client.scan_iter(match=f"{prefix}*", count=1000))
    finally:
        client.close()


def litellm_available() -> bool:
    return LITELLM.exists()


def litellm_version() -> str:
    out = subprocess.run([str(LITELLM_VENV / "bin" / "python"), "-c",
                          "import importlib.metadata as m; print(m.version('litellm'))"],
                         capture_output=True, text=True, check=False)
    return out.stdout.strip() or "unknown"


def start_litellm(folder: Path, upstream_port: int, upstream_key: str, *, cpus: str) -> Endpoint:
    folder.mkdir(parents=True, exist_ok=True)
    master = "sk-master-" + secrets.token_urlsafe(16)
    port = free_port()
    config = folder / "litellm.yaml"
    config.write_text(
        "model_list:\n"
        f"  - model_name: {MODEL}\n"
        f"    litellm_params: {{model: openai/{UPSTREAM_MODEL}, "
        f"api_base: \"http://127.0.0.1:{upstream_port}/v1\", "
        "api_key: os.environ/BENCH_UPSTREAM_KEY}\n"
        "general_settings: {master_key: os.environ/LITELLM_MASTER_KEY}\n"
        "litellm_settings: {drop_params: true, set_verbose: false}\n")
    argv = [str(LITELLM), "--config", str(config), "--host", "127.0.0.1", "--port", str(port),
            "--num_workers", "1"]
    child = spawn("litellm", argv, cpus, _env(upstream_key, master), port, master,
                  folder / "litellm.log", ready_timeout=180)
    return Endpoint("litellm", port, "/v1/chat/completions", master, MODEL, child)
