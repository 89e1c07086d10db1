"""The gateway's object graph, built once per process by the app factory (no module state)."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from pathlib import Path

from starlette.responses import Response

from portico.accounting.config_prices import flag_unpriced, gateway_catalog
from portico.accounting.estimate import RequestEstimator
from portico.accounting.prices import PriceCatalog, UsageCounts
from portico.accounting.tokens import TokenCounter
from portico.adapters.base import Dialect, ProviderSpec
from portico.adapters.providers import builtin_providers
from portico.adapters.registry import build_dialects
from portico.clock import Clock, SystemClock
from portico.config.model import PorticoConfig
from portico.config.secrets import resolve_secret
from portico.errors import GatewayError
from portico.observability.logging import LogSetup, setup_logging
from portico.observability.metrics import Metrics
from portico.observability.redact import Redactor
from portico.pipeline.budget import BudgetHook
from portico.pipeline.context import RequestContext
from portico.pipeline.hooks import Hook, Outcome
from portico.pipeline.inbound_limits import InboundLimitsHook
from portico.pipeline.keys import KeyService, derive_hash_secret
from portico.pipeline.ledger import LedgerHook
from portico.pipeline.pii_hook import DetectorHolder, PiiHook, build_detectors
from portico.pipeline.policy_hook import PolicyHook
from portico.pipeline.teams import TeamDirectory
from portico.routing.attempts import Dispatcher
from portico.routing.breaker import BreakerBoard
from portico.routing.capacity import CapacityGate, UnlimitedCapacity
from portico.routing.capacity_limits import CapacityStack
from portico.routing.catalog import ModelCatalog, build_catalog
from portico.routing.cooldown import KeyCooldown
from portico.routing.executor import Executor
from portico.routing.retry import RetryBudget
from portico.schema.chat import ChatRequest
from portico.schema.response import Usage
from portico.secret import Secret
from portico.server.errors import error_response
from portico.store import open_store
from portico.store.base import Store
from portico.store.journal import Journal, JournalLocked
from portico.upstream.client import UpstreamClient

log = logging.getLogger("portico.gateway")


class CatalogCosts:
    """Prices usage with the catalog; None (not zero) when a model has no price."""

    def __init__(self, catalog: PriceCatalog) -> None:
        self._catalog = catalog

    def cost(self, provider: str, model: str, usage: Usage, at_ms: int) -> int | None:
        price = self._catalog.lookup(provider, model, at_ms)
        if price is None:
            return None
        return self._catalog.cost(price, UsageCounts.from_usage(usage))


@dataclass
class Gateway:
    config: PorticoConfig
    clock: Clock
    specs: dict[str, ProviderSpec]
    catalog: ModelCatalog
    dialects: dict[str, Dialect]
    client: UpstreamClient
    dispatcher: Dispatcher
    executor: Executor
    breakers: BreakerBoard
    store: Store
    journal: Journal
    keys: KeyService
    prices: PriceCatalog
    tokens: TokenCounter
    master: Secret | None
    hooks: list[Hook] = field(default_factory=list)
    capacity: CapacityStack | None = None     # limiter, capacity gate, limit/budget hooks
    detectors: DetectorHolder | None = None   # PII detector, built once (privacy)
    metrics: Metrics = field(
        default_factory=lambda: Metrics(groups=frozenset(), providers=frozenset()))
    redactor: Redactor = field(default_factory=Redactor)
    logs: LogSetup | None = None
    teams: TeamDirectory | None = None        # effective team settings (config + store)

    def render_error(self, err: GatewayError, ctx: RequestContext) -> Response:
        ctx.status, ctx.http_status, ctx.error_code = "error", err.status, err.code
        headers = {"x-portico-attempts": str(len(ctx.attempts))}
        return error_response(err, ctx.request_id, headers, self.redactor)

    async def finalize(self, ctx: RequestContext, outcome: Outcome) -> None:
        # Every hook's finalize runs even if an earlier one fails: the ledger must be written.
        for hook in reversed(self.hooks):
            try:
                await hook.finalize(ctx, outcome)
            except Exception:
                log.exception("finalize hook %s failed for %s", hook.name, ctx.request_id)
        self.observe(ctx)

    def observe(self, ctx: RequestContext) -> None:
        """Metrics and the per-request log line; never raises into the request path."""
        try:
            self.metrics.observe_request(ctx, self.clock.monotonic())
        except ValueError:
            log.exception("metrics update failed for %s", ctx.request_id)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("request finished", extra={
                "request_id": ctx.request_id, "route": ctx.endpoint,
                "model": ctx.model_requested, "key_id": ctx.key_id,
                "provider": ctx.target.provider.name if ctx.target else None,
                "status": ctx.status, "http_status": ctx.http_status,
                "error_code": ctx.error_code, "attempts": len(ctx.attempts),
                "latency_ms": int((self.clock.monotonic() - ctx.started) * 1000)})

    def estimate_prompt_tokens(self, ctx: RequestContext, req: ChatRequest) -> int:
        target = ctx.target
        provider = target.provider.name if target else "openai"
        model = target.model if target else req.model
        return self.tokens.count_request(provider, model, req).tokens

    async def close(self) -> None:
        await self.journal.close()
        await self.client.close()
        await self.store.close()
        if self.capacity is not None:
            await self.capacity.close()
        if self.logs is not None:
            self.logs.close()


MAX_JOURNAL_SLOTS = 64


async def open_journal(store: Store, base: Path, flush_interval_ms: int) -> Journal:
    """The first free journal slot under `base`: one directory per worker process.

    A slot is locked while its process lives; a restarted worker takes a free slot, which
    replays whatever a crashed predecessor left there (writes are idempotent)."""
    for slot in range(MAX_JOURNAL_SLOTS):
        journal = Journal(store, base / f"slot-{slot}", flush_interval_ms=flush_interval_ms)
        try:
            await journal.start()
        except JournalLocked:
            continue
        return journal
    raise RuntimeError(f"all {MAX_JOURNAL_SLOTS} journal slots under {base} are in use")


async def build_gateway(config: PorticoConfig, *, clock: Clock | None = None,
                        rng: random.Random | None = None,
                        capacity: CapacityGate | None = None) -> Gateway:
    clock = clock or SystemClock()
    rng = rng or random.Random()
    specs = builtin_providers()
    catalog = build_catalog(config, specs)
    dialects = build_dialects(clock.wall)
    master = resolve_secret(config.master_key, "master_key") if config.master_key else None
    if config.key_hash_secret:
        pepper = resolve_secret(config.key_hash_secret, "key_hash_secret")
    elif master is not None:
        pepper = derive_hash_secret(master)
    else:
        # Without a master key no virtual key can be minted; a per-process pepper keeps
        # lookups well-defined (and refuses every presented key).
        pepper = Secret(random.SystemRandom().randbytes(32).hex())
    store = await open_store(config.store.url)
    await store.migrate()
    journal = await open_journal(store, Path(config.store.journal_path or "portico-journal"),
                                 config.store.flush_interval_ms)
    # Connect-time SSRF guard: only internal (self-hosted) providers' hosts may resolve to
    # private addresses; rebuilt with the catalog, so it follows the config.
    client = UpstreamClient(internal_urls=[p.base_url for p in catalog.providers.values()
                                           if p.spec.internal])
    await client.start()
    breakers = BreakerBoard(config.breaker, clock)
    prices = gateway_catalog(config.prices, config.prices_file)
    flag_unpriced(prices, [(d.provider.spec.name, d.model) for g in catalog.groups.values()
                           for d in g.deployments], int(clock.wall() * 1000))
    tokens = TokenCounter()
    stack = CapacityStack(config, catalog, RequestEstimator(tokens, prices), clock)
    if capacity is None and stack.gate.active:
        capacity = stack.gate
    teams = TeamDirectory(store, config.limits, clock)
    for hook in stack.hooks:
        if isinstance(hook, InboundLimitsHook | BudgetHook):
            hook.teams = teams
    executor = Executor(
        catalog=catalog, dialects=dialects, breakers=breakers, cooldown=KeyCooldown(clock),
        budget=RetryBudget(clock, ratio=config.retry.budget_ratio), retry=config.retry,
        clock=clock, rng=rng, capacity=capacity or UnlimitedCapacity(),
        group_retry={g.name: g.retry for g in config.models if g.retry is not None},
    )
    gw = Gateway(
        config=config, clock=clock, specs=specs, catalog=catalog, dialects=dialects,
        client=client, dispatcher=Dispatcher(client, dialects), executor=executor,
        breakers=breakers, store=store, journal=journal,
        keys=KeyService(store, pepper, clock, master, teams=teams), prices=prices,
        tokens=tokens, master=master, capacity=stack, teams=teams,
    )
    # Order: inbound limits, budget, then PII, then policy (PII may raise the data class);
    # the LedgerHook stays last.
    gw.hooks += stack.hooks   # inbound limits, budget, max_tokens cap (+ over-prompt stats)
    gw.detectors = await build_detectors(config)
    deferred = [h for h in stack.hooks if isinstance(h, InboundLimitsHook) and h.defer]
    gw.hooks += [PiiHook(config, gw.detectors, journal, teams=teams,
                         admit=deferred[0].admit_now if deferred else None),
                 PolicyHook(config.policy, teams=teams)]
    gw.hooks.append(LedgerHook(journal, CatalogCosts(prices), clock))
    _observability(gw, pepper)
    return gw


def _observability(gw: Gateway, pepper: Secret) -> None:
    """Redaction knows every configured secret; metrics and logs are owned by this gateway."""
    config = gw.config
    secrets = [pepper.reveal(), *([gw.master.reveal()] if gw.master else [])]
    secrets += [k.secret.reveal() for p in gw.catalog.providers.values() for k in p.keys
                if k.secret is not None]
    gw.redactor = Redactor(secrets, pii=config.pii.mode in ("mask", "block"))
    providers = set(gw.catalog.providers) | {p.spec.name for p in gw.catalog.providers.values()}
    gw.metrics = Metrics(groups=frozenset(gw.catalog.groups), providers=frozenset(providers))
    gw.metrics.watch(lambda: [(v.deployment, v.state) for v in gw.breakers.views()],
                     lambda: gw.journal.stats.pending)
    gw.logs = setup_logging(config.logging, gw.redactor)
