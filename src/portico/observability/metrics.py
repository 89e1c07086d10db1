"""Prometheus metrics in a registry owned by one Gateway (no module-level collectors).

Labels come from closed sets or from configuration (route, configured model group, provider
name, status); never from keys or user content. Unknown model names collapse to `other`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from portico.pipeline.context import RequestContext
from portico.store.records import AttemptRow

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OTHER = "other"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
                   120.0, 300.0)
# Our own error codes (errors.py): the only codes that may appear as an attempt outcome.
ATTEMPT_OUTCOMES = frozenset({
    "upstream_rate_limited", "upstream_unavailable", "upstream_timeout", "upstream_idle_timeout",
    "upstream_connect_error", "upstream_auth_error", "upstream_bad_response",
    "upstream_stream_interrupted", "context_length_exceeded", "upstream_rejected_request",
    "breaker_open", "cancelled",
})
ROUTES = frozenset({"chat", "embeddings", "messages", "batch"})
BREAKER_STATES = ("closed", "open", "half_open")


def attempt_outcome(row: AttemptRow) -> str:
    if row.error_code is None:
        if row.status is None or 200 <= row.status < 300:
            return "ok"
        return f"http_{row.status // 100}xx"
    if row.error_code in ATTEMPT_OUTCOMES:
        return row.error_code
    if row.status is not None:
        return f"http_{row.status // 100}xx"
    return "error"


def provider_of(deployment: str) -> str:
    """The configured provider name at the head of a deployment id (`name/model@key`)."""
    return deployment.split("/", 1)[0] or OTHER


class _StateCollector(Collector):
    """Reads breaker states and journal backlog at scrape time (no copies to keep fresh)."""

    def __init__(self, breakers: Callable[[], Iterable[tuple[str, str]]],
                 journal_pending: Callable[[], int], providers: frozenset[str]) -> None:
        self._breakers = breakers
        self._pending = journal_pending
        self._providers = providers

    def collect(self) -> Iterator[Metric]:
        states = GaugeMetricFamily("portico_breakers", "Circuit breakers by provider and state",
                                   labels=["provider", "state"])
        counts: dict[tuple[str, str], int] = {}
        for deployment, state in self._breakers():
            provider = provider_of(deployment)
            key = (provider if provider in self._providers else OTHER,
                   state if state in BREAKER_STATES else OTHER)
            counts[key] = counts.get(key, 0) + 1
        for (provider, state), n in sorted(counts.items()):
            states.add_metric([provider, state], n)
        yield states
        pending = GaugeMetricFamily("portico_journal_pending",
                                    "Spend/audit entries accepted but not yet in the store")
        pending.add_metric([], self._pending())
        yield pending


class Metrics:
    def __init__(self, *, groups: frozenset[str], providers: frozenset[str]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._groups = groups
        self._providers = providers
        r = self.registry
        self.requests = Counter("portico_requests", "Client requests by outcome",
                                ["route", "model_group", "provider", "status"], registry=r)
        self.latency = Histogram("portico_request_duration_seconds",
                                 "Time from arrival to the end of the response",
                                 ["route", "model_group", "provider", "status"],
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.ttft = Histogram("portico_time_to_first_token_seconds",
                              "Streaming time to first content token",
                              ["route", "model_group", "provider"],
                              buckets=LATENCY_BUCKETS, registry=r)
        self.attempts = Counter("portico_upstream_attempts", "Upstream attempts by outcome",
                                ["provider", "outcome"], registry=r)
        self.tokens = Counter("portico_tokens", "Tokens by direction",
                              ["model_group", "provider", "direction"], registry=r)
        self.http = Counter("portico_http_requests", "Requests on non-model routes",
                            ["route", "method", "status"], registry=r)
        # Children per label tuple: `labels()` validates and locks on every call, which was
        # ~1% of the hot path; label values come from closed sets, so these stay small.
        self._request_children: dict[tuple[str, str, str, str], tuple[Counter, Histogram]] = {}
        self._ttft_children: dict[tuple[str, str, str], Histogram] = {}
        self._attempt_children: dict[tuple[str, str], Counter] = {}
        self._token_children: dict[tuple[str, str], tuple[Counter, Counter]] = {}

    def watch(self, breakers: Callable[[], Iterable[tuple[str, str]]],
              journal_pending: Callable[[], int]) -> None:
        self.registry.register(_StateCollector(breakers, journal_pending, self._providers))

    def _group(self, name: str) -> str:
        return name if name in self._groups else OTHER

    def _provider(self, name: str | None) -> str:
        if name is None:
            return "none"
        return name if name in self._providers else OTHER

    def observe_request(self, ctx: RequestContext, now: float) -> None:
        """One finished model request (chat, embeddings); `now` is monotonic seconds."""
        route = ctx.endpoint if ctx.endpoint in ROUTES else OTHER
        group = self._group(ctx.model_requested)
        provider = self._provider(ctx.target.provider.name if ctx.target else None)
        status = str(ctx.http_status) if 100 <= ctx.http_status < 600 else OTHER
        key = (route, group, provider, status)
        pair = self._request_children.get(key)
        if pair is None:
            pair = self._request_children[key] = (self.requests.labels(*key),
                                                  self.latency.labels(*key))
        pair[0].inc()
        pair[1].observe(max(0.0, now - ctx.started))
        if ctx.ttft_ms is not None:
            tkey = (route, group, provider)
            ttft = self._ttft_children.get(tkey)
            if ttft is None:
                ttft = self._ttft_children[tkey] = self.ttft.labels(*tkey)
            ttft.observe(ctx.ttft_ms / 1000)
        for row in ctx.attempts:
            akey = (self._provider(provider_of(row.deployment)), attempt_outcome(row))
            attempt = self._attempt_children.get(akey)
            if attempt is None:
                attempt = self._attempt_children[akey] = self.attempts.labels(*akey)
            attempt.inc()
        if ctx.usage is not None:
            gkey = (group, provider)
            tokens = self._token_children.get(gkey)
            if tokens is None:
                tokens = self._token_children[gkey] = (
                    self.tokens.labels(group, provider, "input"),
                    self.tokens.labels(group, provider, "output"))
            tokens[0].inc(ctx.usage.prompt_tokens)
            tokens[1].inc(ctx.usage.completion_tokens)

    def observe_http(self, route: str, method: str, status: int) -> None:
        """A request on a declared non-model route; `route` is the template, not the path."""
        self.http.labels(route, method, str(status)).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
