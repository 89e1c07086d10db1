"""Three `portico serve` processes sharing Redis keep one upstream key within its limits, with
traffic spread evenly and skewed 90/5/5. The rate window is shrunk to 5 s by config
(`limits.rate_window_seconds`) so that a short run covers several windows."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from portico.simulate.runner import Simulator

from ._procs import (
    Gateway,
    Tally,
    config_yaml,
    drop_database,
    free_port,
    hammer,
    mint_key,
    pg_database,
    start,
    wait_ready,
)

WINDOW, RPM, TPM, MAX_TOKENS, CLIENTS = 5.0, 30, 3000, 50, 12
# Three processes: each serves a third of a limit if Redis does not answer in time.
LIMITS = (f"rate_window_seconds: {WINDOW}, burst_fraction: 0.1, queue_max_wait_seconds: 0.5, "
          "redis_fallback_share: 0.34")


@pytest.fixture
async def fleet(tmp_path: Path) -> AsyncIterator[tuple[Simulator, list[Gateway], str]]:
    store = await pg_database()
    prefix = "captest" + secrets.token_hex(4)
    gws: list[Gateway] = []
    async with Simulator("openai") as sim:
        try:
            for i in range(3):
                port = free_port()
                cfg = tmp_path / f"g{i}.yaml"
                cfg.write_text(config_yaml(
                    port=port, store_url=store, journal=tmp_path / f"journal{i}",
                    sim_base=sim.base_url, redis_url="redis://127.0.0.1:6379/0", prefix=prefix,
                    limits=LIMITS, max_tokens=MAX_TOKENS, redis_timeout_ms=250,
                    key_limits=f"requests_per_minute: {RPM}, tokens_per_minute: {TPM}"))
                if i == 0:
                    key = mint_key(cfg)
                gws.append(start(cfg, port))
            await wait_ready(gws)
            yield sim, gws, key
        finally:
            for gw in gws:
                if gw.proc.poll() is None:
                    gw.terminate()
            await drop_database(store)


def worst_window(times: list[tuple[float, int]]) -> tuple[int, int]:
    """The most requests and the most tokens that started within any WINDOW seconds."""
    times.sort()
    most_req = most_tok = 0
    j = 0
    tokens = 0
    for i, (t, n) in enumerate(times):
        tokens += n
        while times[j][0] <= t - WINDOW:
            tokens -= times[j][1]
            j += 1
        most_req = max(most_req, i - j + 1)
        most_tok = max(most_tok, tokens)
    return most_req, most_tok


@pytest.mark.parametrize("weights", [(1, 1, 1), (90, 5, 5)], ids=["even", "skewed"])
async def test_three_processes_keep_the_key_within_its_limits(
        fleet: tuple[Simulator, list[Gateway], str], weights: tuple[int, ...]) -> None:
    sim, gws, key = fleet
    tally = Tally()
    await hammer([g.url for g in gws], weights, key, clients=CLIENTS, seconds=3 * WINDOW,
                 tally=tally)
    entries = [e for e in sim.ledger.entries() if e.path.endswith("/chat/completions")]
    assert tally.ok == len(entries) and tally.limited > 0 and not tally.other
    assert not tally.errors
    times = [(e.started_at, (e.prompt_tokens or 0) + (e.completion_tokens or 0))
             for e in entries]
    most_req, most_tok = worst_window(times)
    # The whole run admits about limit per window (+ the burst), never more.
    fallbacks = [g.fallbacks() for g in gws]
    assert most_req <= RPM + 3, (most_req, fallbacks)
    assert most_tok <= TPM + CLIENTS * MAX_TOKENS, most_tok
    assert tally.ok >= 2 * RPM   # and the limit is used, not starved
