"""The wired gateway in-process: the key's max_tokens cap reaches the upstream, an inbound rpm
limit answers 429 with Retry-After, an upstream key without room answers 429 after its queue
wait, and the spend report carries cost per successful request and over-prompting flags."""

from __future__ import annotations

from pathlib import Path

import httpx
import msgspec

from portico.cli.demo import demo_config
from portico.config.model import LimitConfig, LimitsConfig
from portico.simulate.runner import Simulator
from portico.store.records import KeySettings
from tests.support.gateway import demo_gateway

BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


async def test_limits_caps_and_spend_report(tmp_path: Path) -> None:
    async with demo_gateway(tmp_path) as run:
        gw = run.gateway
        capped, _ = await gw.keys.create(name="capped", settings=KeySettings(
            max_tokens_cap=20, requests_per_minute=2))
        async with httpx.AsyncClient(base_url=run.root_url, timeout=10) as client:
            auth = {"authorization": f"Bearer {capped}"}
            r1 = await client.post("/v1/chat/completions", json={**BODY, "max_tokens": 500},
                                   headers=auth)
            assert r1.status_code == 200
            sent = msgspec.json.decode(run.sims["openai"].ledger.last().body or b"{}")
            assert isinstance(sent, dict) and sent.get("max_tokens") == 20
            assert (await client.post("/v1/chat/completions", json=BODY,
                                      headers=auth)).status_code == 200
            r3 = await client.post("/v1/chat/completions", json=BODY, headers=auth)
            assert r3.status_code == 429 and int(r3.headers["retry-after"]) >= 1
            await gw.journal.flush()
            master = {"authorization": f"Bearer {run.master_key}"}
            spend = (await client.get("/v1/spend?group_by=key", headers=master)).json()
            line = next(x for x in spend["data"] if x["ok_requests"] == 2)
            assert line["cost_per_ok_micros"] == line["cost_micros"] // 2
            assert line["over_prompting"] is False and 0 < line["input_share"] < 1
            over = (await client.get("/admin/overprompting", headers=master)).json()
            assert {"data", "live", "flagged"} <= set(over)


async def test_upstream_key_without_room_answers_429(tmp_path: Path) -> None:
    async with Simulator("openai") as o, Simulator("anthropic") as a, \
            Simulator("gemini") as g:
        cfg = demo_config({"openai": o.base_url, "anthropic": a.base_url,
                           "gemini": g.base_url}, str(tmp_path))
        openai = cfg.providers["openai"]
        openai.keys[0].limits = LimitConfig(requests_per_minute=1)
        cfg.limits = LimitsConfig(queue_max_wait_seconds=0.2, burst_fraction=1.0)
        async with demo_gateway(tmp_path, config=cfg) as run, \
                httpx.AsyncClient(base_url=run.root_url, timeout=10) as client:
            auth = {"authorization": f"Bearer {run.key}"}
            ok = await client.post("/v1/chat/completions", json=BODY, headers=auth)
            assert ok.status_code == 200
            low = await client.post("/v1/chat/completions", json=BODY,
                                    headers={**auth, "x-portico-priority": "low"})
            assert low.status_code == 429 and "retry-after" in low.headers
            assert low.json()["error"]["code"] == "upstream_capacity"


async def test_embeddings_reserve_input_tokens_on_the_upstream_key(tmp_path: Path) -> None:
    async with Simulator("openai") as o, Simulator("anthropic") as a, \
            Simulator("gemini") as g:
        cfg = demo_config({"openai": o.base_url, "anthropic": a.base_url,
                           "gemini": g.base_url}, str(tmp_path))
        cfg.providers["openai"].keys[0].limits = LimitConfig(tokens_per_minute=100)
        cfg.limits = LimitsConfig(queue_max_wait_seconds=0.2, burst_fraction=1.0)
        async with demo_gateway(tmp_path, config=cfg) as run, \
                httpx.AsyncClient(base_url=run.root_url, timeout=10) as client:
            auth = {"authorization": f"Bearer {run.key}"}
            text = "word " * 30
            body = {"model": "text-embedding-3-small", "input": [text]}
            assert run.gateway.tokens.count_text("text-embedding-3-small", text) >= 25
            codes = [(await client.post("/v1/embeddings", json=body, headers=auth)).status_code
                     for _ in range(6)]
            # Input tokens are reserved (and settled to the provider's count) on the key, so
            # the 100-token minute runs out within four requests; counting requests alone
            # would admit all six.
            first_denied = codes.index(429)
            assert 1 <= first_denied <= 4
            assert set(codes[first_denied:]) == {429}
