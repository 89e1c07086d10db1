"""Systems under test: Portico on SQLite, on PostgreSQL + Redis, with N workers, and LiteLLM
proxy, each configured against the same mock upstream and started pinned to the gateway cores."""

from __future__ import annotations

import os
import secrets
import subprocess
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


def _env(upstream_key: str, master: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(BENCH_UPSTREAM_KEY=upstream_key, BENCH_MASTER_KEY=master,
               LITELLM_MASTER_KEY=master, LITELLM_LOCAL_MODEL_COST_MAP="True",
               LITELLM_LOG="ERROR", TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS="")
    return env


# Variants of the Portico config: PII masking (patterns only, or with the spaCy model), and
# upstream-key limits set far above the load so the limiter (and Redis) run without binding.
PII_PATTERNS = "pii: {mode: mask, use_model: false}\n"
PII_MODEL = "pii: {mode: mask}\n"
KEY_LIMITS = ", limits: {requests_per_minute: 100000000, tokens_per_minute: 100000000000}"


def portico_yaml(folder: Path, upstream_port: int, store_url: str, redis_url: str | None,
                 port: int, workers: int, extra: str = "", key_extra: str = "") -> str:
    redis = f"redis: {{url: \"{redis_url}\", prefix: \"bench{os.getpid()}\"}}\n" \
        if redis_url else ""
    return (
        "master_key: env:BENCH_MASTER_KEY\n"
        f"server: {{host: 127.0.0.1, port: {port}, workers: {workers}}}\n"
        f"store: {{url: \"{store_url}\", journal_path: \"{folder}/journal\"}}\n"
        f"{redis}{extra}"
        "providers:\n"
        f"  openai: {{base_url: \"http://127.0.0.1:{upstream_port}/v1\", internal: true,"
        f" keys: [{{id: k1, key: env:BENCH_UPSTREAM_KEY{key_extra}}}]}}\n"
        "models:\n"
        f"  - name: {MODEL}\n"
        f"    deployments: [{{provider: openai, model: {UPSTREAM_MODEL}}}]\n"
    )


def fresh_pg_database(name: str) -> str:
    for sql in (f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"):
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-q",
                        "-c", sql], check=True, capture_output=True)
    return f"{PG_SERVER}/{name}"


def start_portico(name: str, folder: Path, upstream_port: int, upstream_key: str, *,
                  cpus: str, backend: str = "sqlite", workers: int = 1, extra: str = "",
                  key_extra: str = "") -> Endpoint:
    """`backend` is "sqlite" or "postgres" (PostgreSQL store plus the Redis config block)."""
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
                                   extra, key_extra))
    env = _env(upstream_key, master)
    minted = subprocess.run([str(PORTICO), "keys", "create", "--config", str(config),
                             "--name", "bench"], env=env, check=True, capture_output=True,
                            text=True).stdout.strip().splitlines()[-1]
    token = minted.split("\t")[1]
    argv = [str(PORTICO), "serve", "--config", str(config)]
    if workers > 1:
        argv += ["--workers", str(workers)]
    child = spawn(name, argv, cpus, env, port, token, folder / "serve.log")
    return Endpoint(name, port, "/v1/chat/completions", token, MODEL, child)


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
