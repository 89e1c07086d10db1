"""Redis stops mid-run (a throwaway `redis-server` on its own port, never the shared 6379): no
request hangs, rate limits fall back to the per-process share, budgets fail closed."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx

from portico.simulate.runner import Simulator

from ._procs import (
    MASTER_VAR,
    Tally,
    config_yaml,
    env,
    free_port,
    hammer,
    mint_key,
    start,
    wait_ready,
)


def _redis(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while subprocess.run(["redis-cli", "-p", str(port), "ping"], check=False,
                         capture_output=True,
                         text=True).stdout.strip() != "PONG":
        assert time.monotonic() < deadline, "throwaway redis-server did not start"
        time.sleep(0.05)
    return proc


async def test_redis_outage_mid_run(tmp_path: Path) -> None:
    rport = free_port()
    redis = _redis(rport)
    try:
        async with Simulator("openai") as sim:
            port = free_port()
            cfg = tmp_path / "g.yaml"
            cfg.write_text(config_yaml(
                port=port, store_url=f"sqlite:///{tmp_path}/s.db", journal=tmp_path / "j",
                sim_base=sim.base_url, redis_url=f"redis://127.0.0.1:{rport}/0",
                limits="redis_fallback_share: 0.5, queue_max_wait_seconds: 0.2",
                key_limits="requests_per_minute: 100000"))
            plain = mint_key(cfg)
            gw = start(cfg, port)
            await wait_ready([gw])
            async with httpx.AsyncClient(timeout=10) as client:
                made = await client.post(
                    gw.url + "/admin/keys",
                    headers={"authorization": f"Bearer {env()[MASTER_VAR]}"},
                    json={"name": "budgeted", "settings": {"budget_micros_daily": 10_000_000}})
                assert made.status_code == 201, made.text
                budgeted = made.json()["key"]
                before, after = Tally(), Tally()
                await hammer([gw.url], [1], plain, clients=8, seconds=1.5, tally=before)
                redis.kill()
                redis.wait(10)
                await hammer([gw.url], [1], plain, clients=8, seconds=2.0, tally=after)
                denied = await client.post(
                    gw.url + "/v1/chat/completions",
                    headers={"authorization": f"Bearer {budgeted}"},
                    json={"model": "m", "messages": [{"role": "user", "content": "hi"}]})
            gw.terminate()
    finally:
        if redis.poll() is None:
            redis.kill()
            redis.wait(10)
    # Every request got an answer (a hang would be a client timeout, counted in `errors`).
    assert before.ok > 0 and not before.errors and not before.other
    assert after.ok > 0 and not after.errors and not after.other
    assert denied.status_code == 503, denied.text      # budget: fail closed
    assert "retry-after" in denied.headers
    assert gw.fallbacks() > 0
