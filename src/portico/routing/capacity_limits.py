"""The real `CapacityGate`: per upstream key, reserve one request, the estimated input tokens plus
`max_tokens` and one concurrency slot atomically before an attempt; settle to actual usage.

A key without room makes the executor try the next key at once; only when every key of the
group has been tried does the request wait in the key's priority queue (up to
`limits.queue_max_wait_seconds`) before a 429. Keys with no limits cost one dict lookup.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NoReturn

from portico.accounting.estimate import RequestEstimator
from portico.accounting.prices import UsageCounts
from portico.adapters.base import LimitDefaults, Target
from portico.clock import Clock
from portico.config.model import PorticoConfig
from portico.errors import GatewayError, ModelNotFound, RateLimited, UpstreamRateLimited
from portico.limits import (
    AdaptiveConcurrency,
    AdaptiveConfig,
    Algorithm,
    Amounts,
    Denied,
    FallbackLimiter,
    Limiter,
    LimitKey,
    LimitKind,
    LimitRule,
    MemoryLimiter,
    Priority,
    PriorityGate,
    RedisLimiter,
    Reservation,
    remaining_from_headers,
)
from portico.pipeline._reserving import denial_error
from portico.pipeline.budget import BudgetHook, budget_rules
from portico.pipeline.context import RequestContext
from portico.pipeline.hooks import Hook
from portico.pipeline.inbound_limits import InboundLimitsHook, concurrency_rule, rate_rule
from portico.pipeline.max_tokens import MaxTokensHook, capped_output
from portico.pipeline.overprompt import OverPromptHook
from portico.routing.capacity import Lease
from portico.routing.catalog import Deployment, ModelCatalog
from portico.schema.chat import ChatRequest
from portico.schema.response import Usage

log = logging.getLogger("portico.capacity")
_PRIORITY = {"high": Priority.HIGH, "normal": Priority.NORMAL, "low": Priority.LOW}
_TRIED_MAX = 4096
_SAMPLE_SECONDS = 1.0   # utilisation is sampled at most this often per key (adaptive backoff)
_TOKEN_KINDS = (LimitKind.TOKENS_PER_MINUTE, LimitKind.INPUT_TOKENS_PER_MINUTE,
                LimitKind.OUTPUT_TOKENS_PER_MINUTE)


@dataclass(slots=True)
class KeyCapacity:
    """The limits of one upstream key and its admission queue."""

    scope: str
    limits: Mapping[LimitKind, int]          # per rate window, as configured
    rules: tuple[LimitRule, ...]             # token buckets + sliding windows at the limit
    batch_rules: tuple[LimitRule, ...]       # buckets + windows held below high_utilisation
    windows: tuple[LimitRule, ...]           # the sliding windows (minute utilisation)
    concurrency: LimitRule | None
    adaptive: AdaptiveConcurrency | None
    gate: PriorityGate
    next_sample: float = 0.0
    by_kind: dict[LimitKind, LimitRule] = field(default_factory=dict)

    def rules_for(self, batch: bool) -> list[LimitRule]:
        out = list(self.batch_rules if batch else self.rules)
        if self.concurrency is not None:
            out.append(self.adaptive.rule(self.concurrency) if self.adaptive
                       else self.concurrency)
        return out

    @property
    def tokens(self) -> bool:
        return any(k in self.limits for k in _TOKEN_KINDS)


def key_limits(config: PorticoConfig, provider: str, key_id: str,
               merged: LimitDefaults) -> LimitDefaults:
    """Spec defaults apply only to keys with a `limits:` block or with `provider_defaults`."""
    pcfg = config.providers.get(provider)
    kcfg = next((k for k in pcfg.keys if k.id == key_id), None) if pcfg else None
    if config.limits.provider_defaults or (kcfg is not None and kcfg.limits is not None):
        return merged
    return LimitDefaults()


class LimitedCapacity:
    """`CapacityGate` over a shared `Limiter` (memory, or Redis with a local fallback)."""

    def __init__(self, config: PorticoConfig, catalog: ModelCatalog, limiter: Limiter,
                 estimator: RequestEstimator, clock: Clock) -> None:
        self._config = config
        self._catalog = catalog
        self._limiter = limiter
        self._estimator = estimator
        self._clock = clock
        self._keys: dict[str, KeyCapacity] = {}
        self._free: Lease = _FreeLease()
        self._defaults: dict[str, int] = {}
        self._tried: OrderedDict[str, set[str]] = OrderedDict()
        self._groups: dict[str, frozenset[str]] = {}
        # Set by `CapacityStack` on a shared store: the hook whose reservations are deferred
        # to the first upstream admission (see `InboundLimitsHook.defer`).
        self.inbound: InboundLimitsHook | None = None
        self._budgets = {name: budget_rules(f"provider:{name}", b)
                         for name, b in config.limits.provider_budgets.items()}
        for name, provider in catalog.providers.items():
            for key in provider.keys:
                kc = self._build(f"{name}:{key.id}", key_limits(config, name, key.id, key.limits))
                if kc is not None:
                    self._keys[kc.scope.removeprefix("upstream:")] = kc
        for group in catalog.groups.values():
            for dep in group.deployments:
                for t in dep.targets:
                    self._defaults[t.deployment] = dep.max_tokens_default

    @property
    def active(self) -> bool:
        """False when nothing is limited: the gateway then uses `UnlimitedCapacity`."""
        return bool(self._keys or any(self._budgets.values()))

    def _build(self, key_id: str, ld: LimitDefaults) -> KeyCapacity | None:
        lc = self._config.limits
        limits = {kind: v for kind, v in (
            (LimitKind.REQUESTS_PER_MINUTE, ld.requests_per_minute),
            (LimitKind.TOKENS_PER_MINUTE, ld.tokens_per_minute),
            (LimitKind.INPUT_TOKENS_PER_MINUTE, ld.input_tokens_per_minute),
            (LimitKind.OUTPUT_TOKENS_PER_MINUTE, ld.output_tokens_per_minute),
        ) if v}
        if not limits and not ld.concurrency:
            return None
        scope = f"upstream:{key_id}"
        window = lc.rate_window_seconds
        buckets = tuple(rate_rule(scope, k, v, window, lc.burst_fraction)
                        for k, v in limits.items())
        # Every request also counts in a sliding window (the minute's true utilisation);
        # background/batch traffic meets the same window at only `high_utilisation` of it,
        # so it is smoothed and never takes the last fifth of a key.
        sliding = tuple(LimitRule(LimitKey(scope, k), v, window, Algorithm.SLIDING_WINDOW)
                        for k, v in limits.items())
        batch = tuple(LimitRule(LimitKey(scope, k), max(1, int(v * lc.high_utilisation)),
                                window, Algorithm.SLIDING_WINDOW) for k, v in limits.items())
        conc = adaptive = None
        if ld.concurrency:
            conc = concurrency_rule(scope, ld.concurrency,
                                    self._config.retry.deadline_seconds + 60)
            if lc.adaptive:
                adaptive = AdaptiveConcurrency(
                    AdaptiveConfig(max_concurrency=ld.concurrency,
                                   high_utilisation=lc.high_utilisation),
                    clock=self._clock.monotonic)
        gate = PriorityGate(self._limiter, clock=self._clock.wall, sleep=self._clock.sleep,
                            max_wait=lc.queue_max_wait_seconds,
                            low_threshold=lc.high_utilisation)
        return KeyCapacity(scope=scope, limits=limits, rules=buckets + sliding,
                           batch_rules=buckets + batch, windows=sliding, concurrency=conc,
                           adaptive=adaptive,
                           gate=gate, by_kind={r.key.kind: r for r in buckets})

    # -- acquire ------------------------------------------------------------------------------

    async def acquire(self, ctx: RequestContext, target: Target,
                      req: ChatRequest | None) -> Lease:
        kc = self._keys.get(target.key_id)
        budget = await self._reserve_budget(ctx, target, req)
        inbound = self.inbound.pending(ctx.request_id) if self.inbound is not None else None
        if kc is None:
            if inbound is not None:
                await self._admit_inbound_alone(ctx, inbound, budget)
            return budget or self._free
        amounts = self._amounts(ctx, kc, target, req)
        rules = kc.rules_for(batch=ctx.priority == "low")
        wait = self._config.limits.queue_max_wait_seconds if self._last_chance(ctx, target) \
            else 0.0
        priority = _PRIORITY[ctx.priority]
        held: Reservation
        if inbound is None:
            result = await kc.gate.acquire(rules, amounts, priority, max_wait=wait)
            if isinstance(result, Denied):
                await self._refuse(target, result, budget)
            held = result
        else:
            # The client's deferred inbound reservation rides along in the same atomic call:
            # one round trip; an upstream key without room takes nothing from the client.
            # An inbound denial is final at once (no queueing, no failover).
            both = await kc.gate.acquire_with(rules, amounts, inbound, priority, max_wait=0.0)
            if isinstance(both, Denied) and wait > 0 and not self._is_inbound(both, inbound):
                both = await kc.gate.acquire_with(rules, amounts, inbound, priority,
                                                  max_wait=wait)
            if isinstance(both, Denied):
                await self._refuse(target, both, budget, inbound)
            held = both[0]
            self._adopt(ctx, both[1])
        self._tried.pop(ctx.request_id, None)
        return KeyLease(self, kc, held, amounts, budget)

    @staticmethod
    def _is_inbound(denied: Denied, inbound: tuple[list[LimitRule], Amounts]) -> bool:
        return any(r.key == denied.key for r in inbound[0])

    def _adopt(self, ctx: RequestContext, reservation: Reservation) -> None:
        assert self.inbound is not None   # only called with a deferred inbound reservation
        self.inbound.adopt(ctx.request_id, reservation)

    async def _admit_inbound_alone(self, ctx: RequestContext,
                                   inbound: tuple[list[LimitRule], Amounts],
                                   budget: _BudgetLease | None) -> None:
        """A key with no limits of its own: the deferred inbound reservation goes alone."""
        result = await self._limiter.reserve(*inbound)
        if isinstance(result, Denied):
            await self._refuse(None, result, budget, inbound)
        self._adopt(ctx, result)

    async def _refuse(self, target: Target | None, denied: Denied, budget: _BudgetLease | None,
                      inbound: tuple[list[LimitRule], Amounts] | None = None) -> NoReturn:
        if budget is not None:
            await budget.release(None)
        if inbound is not None and self.inbound is not None and self._is_inbound(denied,
                                                                                 inbound):
            raise self.inbound.refused(denied)
        key = target.key_id if target is not None else "?"
        raise RateLimited(f"upstream key {key} has no capacity "
                          f"({denied.key.kind.value}); retry later",
                          code="upstream_capacity", retry_after=denied.retry_after)

    def _amounts(self, ctx: RequestContext, kc: KeyCapacity, target: Target,
                 req: ChatRequest | None) -> Amounts:
        if not kc.tokens:
            return Amounts(requests=1, concurrency=1)
        if req is not None:
            prompt = self._estimator.input_tokens(ctx.request_id, target.provider.name,
                                                  target.model, req)
            out = req.output_cap or self._defaults.get(target.deployment, 4096)
        elif ctx.sizing is not None:
            # Embeddings: input tokens only, sized once by the embeddings route.
            prompt, out = ctx.sizing.input_tokens(), 0
        else:
            return Amounts(requests=1, concurrency=1)
        # A request larger than a bucket's burst waits for a full bucket and owes the rest.
        cap = {k: r.capacity for k, r in kc.by_kind.items()}
        big = 1 << 62
        return Amounts(
            requests=1, concurrency=1,
            tokens=min(prompt + out, cap.get(LimitKind.TOKENS_PER_MINUTE, big)),
            input_tokens=min(prompt, cap.get(LimitKind.INPUT_TOKENS_PER_MINUTE, big)),
            output_tokens=min(out, cap.get(LimitKind.OUTPUT_TOKENS_PER_MINUTE, big)),
        )

    def _last_chance(self, ctx: RequestContext, target: Target) -> bool:
        """True when every key the executor could try for this request has been tried (so
        waiting here cannot starve a free key elsewhere)."""
        candidates = self._groups.get(ctx.model_requested)
        if candidates is None:
            try:
                group = self._catalog.resolve(ctx.model_requested)
            except ModelNotFound:
                return True
            candidates = frozenset(t.key_id for d in group.deployments for t in d.targets)
            self._groups[ctx.model_requested] = candidates
        if len(candidates) == 1 and target.key_id in candidates:
            return True   # the group's only key: nothing else to try first
        tried = self._tried.get(ctx.request_id)
        if tried is None:
            tried = self._tried[ctx.request_id] = set()
            if len(self._tried) > _TRIED_MAX:
                self._tried.popitem(last=False)
        tried.add(target.key_id)
        if candidates <= tried:
            self._tried.pop(ctx.request_id, None)
            return True
        return False

    async def _reserve_budget(self, ctx: RequestContext, target: Target,
                              req: ChatRequest | None) -> _BudgetLease | None:
        provider = target.key_id.partition(":")[0]
        rules = self._budgets.get(provider)
        if not rules:
            return None
        worst = 0
        if req is not None:
            prompt = self._estimator.input_tokens(ctx.request_id, target.provider.name,
                                                  target.model, req)
            out = req.output_cap or self._defaults.get(target.deployment, 4096)
            worst = self._estimator.worst_case(target.provider.name, target.model, prompt,
                                               out, ctx.ts_ms) or 0
        result = await self._limiter.reserve(rules, Amounts(micros=worst))
        if isinstance(result, Denied):
            err = denial_error(result)
            # As a RateLimited the executor fails over to another provider's deployment.
            raise RateLimited(str(err), code="provider_budget_exceeded",
                              retry_after=result.retry_after)
        return _BudgetLease(self, target, result, ctx.ts_ms)

    # -- settle -------------------------------------------------------------------------------

    async def observe(self, kc: KeyCapacity, headers: Mapping[str, str] | None) -> None:
        """Correct our view from the provider's rate-limit headers (only when they say less
        is left than a burst: otherwise our bucket is already the tighter view), and feed
        the adaptive concurrency with utilisation."""
        pressure = 0.0
        if headers:
            for kind, remaining in remaining_from_headers(headers).items():
                rule = kc.by_kind.get(kind)
                limit = kc.limits.get(kind)
                if rule is None or not limit:
                    continue
                pressure = max(pressure, 1 - remaining / limit)
                if remaining < rule.capacity:
                    await self._limiter.correct(rule, remaining)
        if kc.adaptive is None:
            return
        now = self._clock.monotonic()
        if now >= kc.next_sample and kc.windows:
            kc.next_sample = now + _SAMPLE_SECONDS
            for rule in kc.windows:
                pressure = max(pressure, await self._limiter.usage(rule))
        kc.adaptive.observe(pressure)

    def usage_cost(self, target: Target, usage: Usage, at_ms: int) -> int:
        prices = self._estimator.prices
        price = prices.lookup(target.provider.name, target.model, at_ms)
        return 0 if price is None else prices.cost(price, UsageCounts.from_usage(usage))


class _FreeLease:
    async def settle(self, usage: Usage | None, headers: Mapping[str, str] | None) -> None:
        return None

    async def release(self, error: GatewayError | None) -> None:
        return None


class _BudgetLease:
    __slots__ = ("_gate", "_res", "_target", "_ts")

    def __init__(self, gate: LimitedCapacity, target: Target, res: Reservation,
                 ts_ms: int) -> None:
        self._gate, self._target, self._res, self._ts = gate, target, res, ts_ms

    async def settle(self, usage: Usage | None, headers: Mapping[str, str] | None) -> None:
        if usage is None:
            await self._res.release()
            return
        await self._res.settle(Amounts(micros=self._gate.usage_cost(self._target, usage,
                                                                    self._ts)))

    async def release(self, error: GatewayError | None) -> None:
        await self._res.release()


class KeyLease:
    """One attempt's hold on an upstream key (and its provider budget, if any)."""

    __slots__ = ("_amounts", "_budget", "_gate", "_kc", "_res")

    def __init__(self, gate: LimitedCapacity, kc: KeyCapacity, res: Reservation,
                 amounts: Amounts, budget: _BudgetLease | None) -> None:
        self._gate, self._kc, self._res = gate, kc, res
        self._amounts, self._budget = amounts, budget

    async def settle(self, usage: Usage | None, headers: Mapping[str, str] | None) -> None:
        if usage is None:
            actual = self._amounts   # no usage reported: keep the reservation as the charge
        else:
            actual = Amounts(requests=1, tokens=usage.prompt_tokens + usage.completion_tokens,
                             input_tokens=usage.prompt_tokens,
                             output_tokens=usage.completion_tokens)
        await self._res.settle(actual)
        if self._budget is not None:
            await self._budget.settle(usage, headers)
        await self._gate.observe(self._kc, headers)

    async def release(self, error: GatewayError | None) -> None:
        await self._res.release()
        if self._budget is not None:
            await self._budget.release(error)
        if isinstance(error, UpstreamRateLimited) and self._kc.adaptive is not None:
            self._kc.adaptive.on_rate_limited()


class CapacityStack:
    """Builds the limiter from config (Redis with a per-process fallback share, else memory),
    the capacity gate and the pipeline hooks that reserve before dispatch."""

    def __init__(self, config: PorticoConfig, catalog: ModelCatalog,
                 estimator: RequestEstimator, clock: Clock) -> None:
        self._catalog = catalog
        self._estimator = estimator
        memory = MemoryLimiter(clock=clock.wall)
        self.redis: RedisLimiter | None = None
        self.limiter: Limiter = memory
        lc = config.limits
        if config.redis.url:
            self.redis = RedisLimiter.from_url(config.redis.url, prefix=config.redis.prefix,
                                               timeout_ms=config.redis.timeout_ms,
                                               clock=clock.wall)
            self.limiter = FallbackLimiter(self.redis, memory, share=lc.redis_fallback_share,
                                           budget_fail_open=lc.budget_fail_open,
                                           clock=clock.wall)
        self.gate = LimitedCapacity(config, catalog, self.limiter, estimator, clock)
        self.overprompt = OverPromptHook(clock)
        lease = config.retry.deadline_seconds + 60
        inbound = InboundLimitsHook(self.limiter, lc, self.estimate, lease_seconds=lease)
        if self.redis is not None and self.gate.active:
            # One Redis round trip per admission: inbound limits go out with the upstream
            # key's. Only when the gateway uses this gate (it does whenever it is active).
            inbound.defer = True
            self.gate.inbound = inbound
        self.hooks: list[Hook] = [
            inbound,
            BudgetHook(self.limiter, lc, self.worst_case),
            MaxTokensHook(self.default_for),
            self.overprompt,
        ]

    def _deployments(self, model: str) -> tuple[Deployment, ...]:
        try:
            return self._catalog.resolve(model).deployments
        except ModelNotFound:
            return ()   # the executor answers 404; nothing to reserve for

    def default_for(self, model: str) -> int | None:
        deps = self._deployments(model)
        return max(d.max_tokens_default for d in deps) if deps else None

    def estimate(self, ctx: RequestContext, req: ChatRequest) -> tuple[int, int]:
        """(prompt tokens, output ceiling) on the group's first deployment."""
        deps = self._deployments(req.model)
        if not deps:
            return 0, 0
        d = deps[0]
        prompt = self._estimator.input_tokens(ctx.request_id, d.provider.spec.name, d.model,
                                              req)
        return prompt, capped_output(ctx.key, req.output_cap, d.max_tokens_default)

    def worst_case(self, ctx: RequestContext, req: ChatRequest) -> int:
        targets = [(d.provider.spec.name, d.model,
                    capped_output(ctx.key, req.output_cap, d.max_tokens_default))
                   for d in self._deployments(req.model)]
        return self._estimator.dearest(ctx.request_id, req, targets, ctx.ts_ms)

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
