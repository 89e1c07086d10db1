"""/v1/embeddings through the whole pipeline: PII masking and blocking, data-policy routing,
inbound limits, budgets and the ledger, against the simulated OpenAI upstream."""

from __future__ import annotations

from pathlib import Path

import msgspec

from portico.config.model import (
    AuditConfig,
    PiiConfig,
    PolicyConfig,
    PolicyRule,
    PorticoConfig,
)
from portico.pipeline.budget import BudgetHook
from portico.pipeline.context import RequestContext
from portico.store.base import LedgerQuery
from portico.store.records import KeySettings, LedgerRow
from tests.integration.privacy.conftest import Privacy, privacy_gateway
from tests.support.policies import group, training_split

MODEL = "text-embedding-3-small"
NAME = "Sarah Johnson"
EMAIL = "sarah.j@example.com"
PLANTED = [f"my name is {NAME}", f"write to {EMAIL} today", "nothing personal here"]
RULE = PolicyRule(name="no-training-for-sensitive", data_class="sensitive", no_training=True)


def setup(cfg: PorticoConfig, urls: dict[str, str]) -> PorticoConfig:
    models = [*cfg.models,
              group("embed-trains", ("trainer", "emb-trains")),
              group("embed-mixed", ("trainer", "emb-trains"), ("careful", "emb-careful"))]
    return msgspec.structs.replace(
        cfg, providers=training_split(cfg), models=models,
        pii=PiiConfig(mode="mask", use_model=False), policy=PolicyConfig(rules=[RULE]),
        audit=AuditConfig(capture_content=True))


async def embed(p: Privacy, inputs: object, *, model: str = MODEL, key: str | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, object]]:
    async with p.http.post(
            f"{p.root}/v1/embeddings", json={"model": model, "input": inputs},
            headers={"authorization": f"Bearer {key or p.key}", **(headers or {})}) as r:
        return r.status, await r.json()


def error(out: dict[str, object]) -> dict[str, object]:
    err = out["error"]
    assert isinstance(err, dict)
    return err


async def ledger(p: Privacy) -> list[LedgerRow]:
    await p.drain()
    return await p.gateway.store.query_ledger(LedgerQuery(limit=1000))


async def test_mask_mode_never_lets_planted_pii_reach_the_upstream(tmp_path: Path) -> None:
    async with privacy_gateway(tmp_path, setup) as p:
        status, out = await embed(p, PLANTED)
        assert status == 200 and len(out["data"]) == 3  # type: ignore[arg-type]
        status, _ = await embed(p, f"single string from {EMAIL}")
        assert status == 200
        bodies = p.upstream_bodies()
        assert len(bodies) == 2
        for b in bodies:
            for value in (NAME, "Johnson", EMAIL, "sarah.j"):
                assert value not in b
        sent = msgspec.json.decode(bodies[0])["input"]
        assert sent == ["my name is <PERSON_1>", "write to <EMAIL_1> today",
                        "nothing personal here"]
        await p.drain()
        events = [e.event for e in await p.gateway.store.list_audit()]
        request = next(e for e in events if e.action == "embeddings.request")
        assert request.detail["pii"] == {"EMAIL": 1, "PERSON": 1}
        assert request.detail["data_class"] == "sensitive"
        content = next(e for e in events if e.action == "embeddings.content")
        assert NAME not in str(content.detail) and EMAIL not in str(content.detail)


async def test_block_mode_is_a_400_naming_types_only(tmp_path: Path) -> None:
    async with privacy_gateway(tmp_path, setup) as p:
        key = await p.new_key(KeySettings(pii_mode="block"))
        status, out = await embed(p, PLANTED, key=key)
        assert status == 400
        err = error(out)
        assert err["code"] == "pii_detected"
        message = str(err["message"])
        assert "EMAIL" in message and "PERSON" in message
        for value in (NAME, "Johnson", EMAIL):
            assert value not in message
        assert p.upstream_bodies() == []


async def test_token_arrays_rejected_when_screening_required_recorded_in_detect(
        tmp_path: Path) -> None:
    async with privacy_gateway(tmp_path, setup) as p:
        for tokens in ([1, 2, 3], [[1, 2], [3]]):
            status, out = await embed(p, tokens)       # the gateway default is mask
            assert status == 400
            err = error(out)
            assert err["code"] == "pii_unscreenable_input" and err["param"] == "input"
            assert "token-array" in str(err["message"])
        assert p.upstream_bodies() == []
        detect = await p.new_key(KeySettings(pii_mode="detect"))
        status, _ = await embed(p, [[1, 2], [3, 4]], key=detect)
        assert status == 200
        await p.drain()
        events = [e.event for e in await p.gateway.store.list_audit()]
        request = [e for e in events if e.action == "embeddings.request"][-1]
        assert request.detail["pii_unscreened_inputs"] == 2
        assert request.detail["http_status"] == 200


async def test_policy_routes_sensitive_embeddings_or_refuses_with_403(tmp_path: Path) -> None:
    async with privacy_gateway(tmp_path, setup) as p:
        sensitive = {"x-portico-data-class": "sensitive"}
        status, out = await embed(p, "hello", model="embed-trains", headers=sensitive)
        assert status == 403
        err = error(out)
        assert err["code"] == "data_policy_violation"
        assert "no-training-for-sensitive" in str(err["message"])
        assert len(p.sims["openai"].ledger) == 0
        # Header-raised class, then PII-raised class: only the compliant deployment serves.
        for inputs, headers in (("hello", sensitive), (f"mail {EMAIL}", {})):
            status, _ = await embed(p, inputs, model="embed-mixed", headers=headers)
            assert status == 200
            assert [e.model for e in p.sims["openai"].ledger][-1] == "emb-careful"
        # Internal (the default) with nothing detected: the first deployment may take it.
        status, _ = await embed(p, "hello", model="embed-mixed")
        assert status == 200
        assert [e.model for e in p.sims["openai"].ledger][-1] == "emb-trains"


async def test_inbound_rpm_limit_is_a_429_for_embeddings(tmp_path: Path) -> None:
    async with privacy_gateway(tmp_path, setup) as p:
        key = await p.new_key(KeySettings(requests_per_minute=2))
        for _ in range(2):
            assert (await embed(p, "hello", key=key))[0] == 200
        status, out = await embed(p, "hello", key=key)
        assert status == 429
        assert error(out)["code"] == "rate_limit_exceeded"
        assert len(p.upstream_bodies()) == 2


async def test_budget_reserves_worst_case_and_settles_to_actual(tmp_path: Path) -> None:
    async with privacy_gateway(tmp_path, setup) as p:
        gw = p.gateway
        # $0.02 per million tokens: a micro-USD buys 50 tokens; ~2,000 tokens cost ~40.
        long_text = " ".join(f"word{i}" for i in range(1000))
        poor, _ = await gw.keys.create(name="poor", settings=KeySettings(budget_micros_daily=5))
        status, out = await embed(p, long_text, key=poor)
        assert status == 429 and error(out)["code"] == "budget_exceeded"
        assert p.upstream_bodies() == []

        plain, record = await gw.keys.create(
            name="rich", settings=KeySettings(budget_micros_daily=1_000_000))
        status, _ = await embed(p, long_text, key=plain)
        assert status == 200
        (row,) = [r for r in await ledger(p) if r.key_id == record.id]
        assert row.cost_micros > 0
        hook = next(h for h in gw.hooks if isinstance(h, BudgetHook))
        ctx = RequestContext(request_id="probe", started=0.0, ts_ms=0, key=record)
        (rule,) = hook.rules(ctx)
        assert gw.capacity is not None
        spent = await gw.capacity.limiter.usage(rule) * rule.capacity
        assert round(spent) == row.cost_micros      # settled to the actual, not the reservation


async def test_ledger_row_for_embeddings_carries_tokens(tmp_path: Path) -> None:
    async with privacy_gateway(tmp_path, setup) as p:
        status, out = await embed(p, ["alpha beta", "gamma"])
        assert status == 200
        usage = out["usage"]
        assert isinstance(usage, dict)
        (row,) = await ledger(p)
        assert row.endpoint == "embeddings" and row.status == "ok"
        assert row.model_requested == MODEL and row.provider == "openai"
        assert row.tokens_in == usage["prompt_tokens"] > 0 and row.tokens_out == 0
        assert row.cost_micros >= 0 and not row.price_missing
