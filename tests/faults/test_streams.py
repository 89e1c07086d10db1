"""Streaming faults: the first-byte rule, in-band errors, timeouts, keepalives, cancel, cost."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import msgspec

from portico.clock import SystemClock
from portico.config.model import PorticoConfig, RetryConfig, TimeoutConfig
from portico.store.records import KeySettings, LedgerRow
from tests.faults.conftest import Env, Reply, fault_env


def _last_error(r: Reply) -> dict[str, object]:
    obj = msgspec.json.decode(r.data()[-1])
    assert isinstance(obj, dict) and "error" in obj
    err = obj["error"]
    assert isinstance(err, dict)
    return err


async def test_cut_before_first_chunk_fails_over_transparently(env: Env) -> None:
    env.push(cut_after=0, model="pair-a")
    r = await env.chat("pair", stream=True)
    assert r.status == 200 and r.data()[-1] == "[DONE]"
    assert [e.model for e in env.upstream(r.request_id)] == ["pair-a", "pair-b"]
    assert r.headers["x-portico-attempts"] == "2"
    plain = await env.chat("pair", stream=True)
    assert r.text() == plain.text()           # nothing from the failed attempt leaked
    assert (await env.row(r.request_id)).status == "ok"


async def test_cut_after_five_chunks_ends_with_one_error_event(env: Env) -> None:
    env.push(cut_after=5, model="pair-a")
    r = await env.chat("pair", stream=True)
    assert r.status == 200
    assert "[DONE]" not in r.data()
    assert sum(1 for d in r.data() if '"error"' in d) == 1
    assert _last_error(r)["code"] == "upstream_stream_interrupted"
    assert [e.model for e in env.upstream(r.request_id)] == ["pair-a"]   # no failover
    full = await env.chat("pair", stream=True)
    assert full.text().startswith(r.text()) and len(r.text()) < len(full.text())
    row = await env.row(r.request_id)
    assert row.status == "partial" and row.cost_estimated and row.tokens_out > 0


async def test_in_band_error_before_content_fails_over(env: Env) -> None:
    env.push(in_band_error=0, error_type="server_error", model="pair-a", times=None)
    r = await env.chat("pair", stream=True)
    assert r.status == 200 and r.data()[-1] == "[DONE]"
    assert env.upstream(r.request_id)[-1].model == "pair-b"


async def test_in_band_error_after_content_is_terminal(env: Env) -> None:
    # The gap makes the content reach the client before the error (else it is all one read).
    env.push(in_band_error=3, error_type="server_error", gap_ms=100, model="pair-a")
    r = await env.chat("pair", stream=True)
    assert "[DONE]" not in r.data() and _last_error(r)["type"] == "service_unavailable"
    assert len(env.upstream(r.request_id)) == 1
    assert (await env.row(r.request_id)).status == "partial"


async def test_malformed_first_chunk_fails_over(env: Env) -> None:
    env.push(malformed=True, model="pair-a")
    r = await env.chat("pair", stream=True)
    assert r.data()[-1] == "[DONE]" and r.headers["x-portico-attempts"] == "2"


def _real_time(cfg: PorticoConfig) -> None:
    cfg.models = [g if g.name != "slow" else
                  msgspec.structs.replace(g, retry=RetryConfig(deadline_seconds=1.0))
                  for g in cfg.models]


async def test_hang_before_headers_ends_within_deadline(tmp_path: Path) -> None:
    async with fault_env(tmp_path, clock=SystemClock(), tweak=_real_time) as env:
        env.push(hang=True, times=None, model="slow-a")
        env.push(hang=True, times=None, model="slow-b")
        started = time.monotonic()
        r = await env.chat("slow")
        elapsed = time.monotonic() - started
        assert r.status == 504
        assert [e.model for e in env.upstream(r.request_id)] == ["slow-a", "slow-b"]
        # Per-attempt timeout 0.6 s, request deadline 1.0 s: done by deadline + 250 ms.
        assert elapsed <= 1.0 + 0.25


async def test_slow_first_token_fails_over(env: Env) -> None:
    env.push(ttft_ms=1500, model="slow-a")
    r = await env.chat("slow", stream=True)
    assert r.data()[-1] == "[DONE]"
    row = await env.row(r.request_id)
    assert row.attempts[0].error_code == "upstream_first_token_timeout"


def _patient_first_token(cfg: PorticoConfig) -> None:
    patient = TimeoutConfig(connect=0.5, first_token=2.0, idle=0.3, total=5.0)
    cfg.models = [g if g.name != "slow" else msgspec.structs.replace(
        g, deployments=[msgspec.structs.replace(d, timeouts=patient) for d in g.deployments])
        for g in cfg.models]


async def test_idle_gap_after_first_byte_is_terminal(tmp_path: Path) -> None:
    async with fault_env(tmp_path, tweak=_patient_first_token) as env:
        env.push(gap_ms=600, model="slow-a")   # content at 0.6 s, then 0.6 s > idle 0.3 s
        r = await env.chat("slow", stream=True)
        assert r.text() and "[DONE]" not in r.data()
        assert _last_error(r)["code"] == "upstream_idle_timeout"
        assert len(env.upstream(r.request_id)) == 1


def _fast_keepalive(cfg: PorticoConfig) -> None:
    cfg.server.keepalive_seconds = 0.1


async def test_keepalive_before_first_token(tmp_path: Path) -> None:
    async with fault_env(tmp_path, tweak=_fast_keepalive) as env:
        env.push(ttft_ms=600, model="solo-m")
        r = await env.chat("solo", stream=True)
        assert r.status == 200
        assert r.headers["cache-control"] == "no-cache"
        assert r.headers["x-accel-buffering"] == "no"
        blocks = r.events()
        first_data = next(i for i, b in enumerate(blocks) if b.startswith("data: "))
        assert first_data >= 3 and all(b == ": keepalive" for b in blocks[:first_data])
        # Every block is a whole comment or a whole event: never a comment inside an event.
        assert all(b == ": keepalive" or (b.startswith("data: ") and "\n" not in b)
                   for b in blocks)
        assert r.data()[-1] == "[DONE]"


async def test_error_after_keepalive_becomes_an_event(tmp_path: Path) -> None:
    async with fault_env(tmp_path, tweak=_fast_keepalive) as env:
        env.push(latency_ms=400, status=400, model="solo-m")
        late = await env.chat("solo", stream=True)
        assert late.status == 200 and late.events()[0] == ": keepalive"
        assert _last_error(late)["type"] == "invalid_request_error"
        assert "[DONE]" not in late.data()
        assert (await env.row(late.request_id)).http_status == 400
        env.push(status=400, model="solo-m")
        fast = await env.chat("solo", stream=True)   # failed before the first keepalive
        assert fast.status == 400


async def test_client_disconnect_closes_upstream_before_it_ends(env: Env) -> None:
    # 40 chunks 100 ms apart: the upstream would stream for 4 s. The client leaves after 3; the
    # upstream must see its connection closed long before its last chunk. No wall-clock bound on
    # how soon (a loaded CI core delays everything): the chunk count is the proof.
    env.push(gap_ms=100, chunks=40, tokens=200, model="solo-m")
    payload = {"model": "solo", "stream": True,
               "messages": [{"role": "user", "content": "hello there"}]}
    resp = await env.http.post(env.root + "/v1/chat/completions", json=payload,
                               headers={"authorization": f"Bearer {env.key}"})
    rid = resp.headers["x-request-id"]
    seen = b""
    while seen.count(b"data: ") < 3:
        seen += await resp.content.readany()
    resp.close()
    [entry] = env.upstream(rid)
    for _ in range(500):
        if entry.disconnected_at is not None:
            break
        await asyncio.sleep(0.01)
    assert entry.disconnected_at is not None
    assert entry.chunks_sent < 20
    row = await _wait_row(env, rid)
    assert row.status == "cancelled" and row.cost_estimated and row.tokens_out > 0


async def _wait_row(env: Env, rid: str) -> LedgerRow:
    for _ in range(100):
        try:
            return await env.row(rid)
        except AssertionError:
            await asyncio.sleep(0.02)
    return await env.row(rid)


def _priced(cfg: PorticoConfig) -> None:
    cfg.models = [g if g.name != "solo" else msgspec.structs.replace(
        g, deployments=[msgspec.structs.replace(g.deployments[0], model="gpt-4o-mini")])
        for g in cfg.models]


async def test_stream_cost_cut_off(tmp_path: Path) -> None:
    async with fault_env(tmp_path, tweak=_priced) as env:
        env.push(gap_ms=20, chunks=50, tokens=400, model="gpt-4o-mini")
        # gpt-4o-mini: $0.15 / M input, $0.60 / M output: 40 micro-USD is ~60 output tokens.
        r = await env.chat("solo", stream=True, max_tokens=400,
                           headers={"x-portico-max-stream-cost": "0.00004"})
        err = _last_error(r)
        assert err["code"] == "max_stream_cost_exceeded" and "ceiling" in str(err["message"])
        assert "[DONE]" not in r.data()
        [entry] = env.upstream(r.request_id)
        row = await env.row(r.request_id)
        assert row.status == "partial" and row.error_code == "max_stream_cost_exceeded"
        assert 0 < row.tokens_out < 400
        for _ in range(100):
            if entry.finished_at is not None:
                break
            await asyncio.sleep(0.01)
        assert entry.disconnected and entry.chunks_sent < 50


async def test_key_cost_ceiling_is_not_raised_by_header(tmp_path: Path) -> None:
    async with fault_env(tmp_path, tweak=_priced) as env:
        key = await env.key_with(KeySettings(max_stream_cost_micros=40))
        env.push(gap_ms=20, chunks=50, tokens=400, model="gpt-4o-mini")
        r = await env.chat("solo", stream=True, key=key, max_tokens=400,
                           headers={"x-portico-max-stream-cost": "10"})
        assert _last_error(r)["code"] == "max_stream_cost_exceeded"


async def test_sentence_buffer_coalesces_without_changing_text(env: Env) -> None:
    msg = [{"role": "user", "content": "One two three. Four five six! Seven eight? Nine ten."}]
    plain = await env.chat("solo", stream=True, messages=msg)
    env.push(model="solo-m", chunks=20)
    buffered = await env.chat("solo", stream=True, messages=msg,
                              headers={"x-portico-sentence-buffer": "1"})
    assert buffered.text() == plain.text()
    assert len(buffered.data()) < len(plain.data())
    pieces = [p for p in _contents(buffered) if p]
    assert all(p.endswith((".", "!", "?", "\n")) for p in pieces[:-1])


def _contents(r: Reply) -> list[str]:
    out = []
    for d in r.data():
        if d == "[DONE]":
            continue
        obj = msgspec.json.decode(d)
        assert isinstance(obj, dict)
        out += [c["delta"].get("content") or "" for c in obj.get("choices", [])]
    return out
