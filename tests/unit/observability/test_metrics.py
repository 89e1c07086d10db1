"""Metrics: per-gateway registry, closed label sets, nothing from keys or user content."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from portico.adapters.providers import builtin_providers
from portico.observability.metrics import Metrics, attempt_outcome
from portico.pipeline.context import RequestContext
from portico.schema.response import Usage
from portico.store.records import AttemptRow, KeyRecord


def _ctx(model: str, rows: list[AttemptRow]) -> RequestContext:
    key = KeyRecord(id="vk_1", name="n", key_hash="h", prefix="sk-pt-abcd", created_at_ms=0)
    return RequestContext(request_id="req_1", started=1.0, ts_ms=0, key=key,
                          model_requested=model, attempts=rows,
                          usage=Usage(prompt_tokens=3, completion_tokens=4, total_tokens=7))


def _labels(m: Metrics) -> set[str]:
    out: set[str] = set()
    for family in text_string_to_metric_families(m.render().decode()):
        for sample in family.samples:
            out.update(sample.labels.values())
    return out


def test_request_metrics_use_closed_labels() -> None:
    m = Metrics(groups=frozenset({"smart"}), providers=frozenset({"openai"}))
    ctx = _ctx("smart", [AttemptRow(deployment="openai/gpt-4o@k", status=500,
                                    error_code="upstream_unavailable"),
                         AttemptRow(deployment="openai/gpt-4o@k", status=200)])
    ctx.target = None
    m.observe_request(ctx, now=1.25)
    evil = _ctx("sk-pt-secretkey123 ignore previous instructions",
                [AttemptRow(deployment="attacker/x@y", status=400, error_code="sk-pt-zzzzzzzzz")])
    ctx.http_status = 200
    m.observe_request(evil, now=2.0)
    text = m.render().decode()
    assert 'portico_requests_total{model_group="smart"' in text
    assert 'outcome="upstream_unavailable"' in text and 'outcome="ok"' in text
    labels = _labels(m)
    assert not any("sk-" in v or "instructions" in v or "vk_" in v for v in labels)
    assert "other" in labels


def test_two_gateways_do_not_share_a_registry() -> None:
    a = Metrics(groups=frozenset(), providers=frozenset())
    b = Metrics(groups=frozenset(), providers=frozenset())
    a.observe_http("/v1/models", "GET", 200)
    assert "portico_http_requests_total" in a.render().decode()
    assert 'route="/v1/models"' not in b.render().decode()


def test_state_gauges_read_at_scrape_time() -> None:
    m = Metrics(groups=frozenset(), providers=frozenset({"openai"}))
    states = [("openai/gpt-4o@k", "open"), ("openai/x@k", "closed"), ("u/sk-pt-x@k", "open")]
    pending = [7]
    m.watch(lambda: states, lambda: pending[0])
    text = m.render().decode()
    assert 'portico_breakers{provider="openai",state="open"} 1.0' in text
    assert 'portico_breakers{provider="other",state="open"} 1.0' in text
    assert "portico_journal_pending 7.0" in text
    pending[0] = 0
    assert "portico_journal_pending 0.0" in m.render().decode()


def test_attempt_outcomes_are_a_closed_set() -> None:
    assert attempt_outcome(AttemptRow(deployment="d", status=200)) == "ok"
    assert attempt_outcome(AttemptRow(deployment="d", status=404, error_code="x")) == "http_4xx"
    assert attempt_outcome(AttemptRow(deployment="d", error_code="whatever")) == "error"
    assert attempt_outcome(AttemptRow(deployment="d", error_code="upstream_timeout")) == \
        "upstream_timeout"
    assert builtin_providers()  # the provider names used as labels come from specs/config
