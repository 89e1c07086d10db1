"""Runs the upstream attempts of one request: retry, failover, breakers, the first-byte rule.

One loop serves streams and non-streams: an *attempt* callable does one upstream call and
raises a typed error; the loop decides from the error's class what happens next.
"""

from __future__ import annotations

import enum
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

import msgspec

from portico.adapters.base import Dialect, Target
from portico.clock import Clock
from portico.config.model import RetryConfig
from portico.errors import (
    AllTargetsFailed,
    AttemptRecord,
    GatewayError,
    GatewayUnavailable,
    PolicyViolation,
    RateLimited,
    UpstreamAuthError,
    UpstreamBadRequest,
    UpstreamBadResponse,
    UpstreamConnectError,
    UpstreamContextLength,
    UpstreamError,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from portico.pipeline.context import RequestContext
from portico.routing._redact import redacted_payload
from portico.routing.breaker import BreakerBoard
from portico.routing.capacity import CapacityGate, Lease
from portico.routing.catalog import Deployment, ModelCatalog, ModelGroup
from portico.routing.cooldown import KeyCooldown
from portico.routing.planner import Planner
from portico.routing.retry import BackoffPolicy, RetryBudget
from portico.schema.chat import ChatRequest
from portico.store.records import AttemptRow
from portico.upstream.client import Timeouts

log = logging.getLogger("portico.routing")
T = TypeVar("T")
Attempt = Callable[[Target, Deployment, Timeouts], Awaitable[T]]

# Retries on the same deployment before failing over, by error kind (config may override).
DEFAULT_RETRIES = {"429": 3, "503": 3, "5xx": 2, "timeout": 1, "bad_response": 1}


class Action(enum.Enum):
    RETRY = "retry"            # same deployment after a backoff
    NEXT = "next"              # fail over to the next key / deployment
    NEXT_KEY = "next_key"      # bench this upstream key, then fail over
    CONTEXT = "context"        # jump to the group's larger-context fallback
    STOP = "stop"              # the client's error; no other deployment would do better


def _kind(err: GatewayError) -> str:
    if isinstance(err, UpstreamRateLimited):
        return "429"
    if isinstance(err, UpstreamUnavailable):
        return "503" if err.upstream_status == 503 else "5xx"
    if isinstance(err, UpstreamTimeout):
        return "timeout"
    return "bad_response"


def breaker_failure(err: GatewayError) -> bool:
    """Errors that say the deployment is unhealthy (not the request, not our limits)."""
    return isinstance(err, UpstreamUnavailable | UpstreamTimeout | UpstreamConnectError
                      | UpstreamBadResponse)


class _Policy:
    """A group's retry settings, resolved once: attempts, deadline, backoff, retries by kind."""

    __slots__ = ("backoff", "cfg", "retries")

    def __init__(self, cfg: RetryConfig) -> None:
        self.cfg = cfg
        self.retries = {**DEFAULT_RETRIES, **cfg.retries_per_status}
        self.backoff = BackoffPolicy(base=cfg.backoff_base_seconds, cap=cfg.backoff_cap_seconds)


class _Run:
    """Mutable state of one request's attempts across deployments and fallback groups."""

    __slots__ = ("attempts", "blocked", "capacity_denied", "context_jumped", "last", "policy",
                 "records", "refused")

    def __init__(self, policy: _Policy) -> None:
        self.policy = policy
        self.attempts = 0
        self.last: GatewayError | None = None
        self.blocked: list[float] = []
        self.records: list[AttemptRecord] = []
        self.context_jumped = False
        self.capacity_denied: RateLimited | None = None
        self.refused: list[str] = []


class Executor:
    def __init__(
        self, *, catalog: ModelCatalog, dialects: Mapping[str, Dialect], breakers: BreakerBoard,
        cooldown: KeyCooldown, budget: RetryBudget, retry: RetryConfig, clock: Clock,
        rng: random.Random, capacity: CapacityGate,
        group_retry: Mapping[str, RetryConfig] | None = None,
    ) -> None:
        self._catalog = catalog
        self._dialects = dialects
        self._breakers = breakers
        self._cooldown = cooldown
        self._budget = budget
        self._default = _Policy(retry)
        # Per-group overrides (ModelGroupConfig.retry); the requested group's policy governs
        # the whole request, fallbacks included, so one request has one budget.
        self._policies = {name: _Policy(cfg) for name, cfg in (group_retry or {}).items()}
        self._clock = clock
        self._rng = rng
        self._planner = Planner(catalog, rng)
        self._capacity = capacity

    def dialect(self, target: Target) -> Dialect:
        return self._dialects[target.provider.dialect]

    def policy(self, group: str) -> RetryConfig:
        return self._policies.get(group, self._default).cfg

    async def run(self, ctx: RequestContext, model: str, attempt: Attempt[T],
                  req: ChatRequest | None = None) -> tuple[T, Lease]:
        """The first successful attempt's result and its capacity lease (to settle).

        `req` (chat only) lets the capacity gate size its reservation and the 4xx log show
        the payload's shape."""
        group = self._catalog.resolve(model)
        policy = self._policies.get(group.name, self._default)
        if not ctx.deadline:
            ctx.deadline = ctx.started + policy.cfg.deadline_seconds
        self._budget.on_request()
        state = _Run(policy)
        result = await self._run_group(ctx, req, group, attempt, state)
        if result is not None:
            return result
        raise self._final(state)

    async def _run_group(self, ctx: RequestContext, req: ChatRequest | None, group: ModelGroup,
                         attempt: Attempt[T], state: _Run) -> tuple[T, Lease] | None:
        for dep in self._planner.plan(group):
            for target in self._rotate(dep.targets):
                if self._cooldown.benched(target.key_id):
                    continue
                if ctx.target_filter is not None:
                    reason = ctx.target_filter(target)
                    if reason is not None:
                        state.refused.append(reason)
                        continue
                action, result = await self._on_target(ctx, req, dep, target, attempt, state)
                if result is not None:
                    return result
                if action is Action.STOP:
                    raise self._final(state)
                if action is Action.CONTEXT:
                    fallback = group.context_fallback
                    if fallback is None or state.context_jumped:
                        raise self._final(state)
                    state.context_jumped = True
                    return await self._run_group(
                        ctx, req, self._catalog.resolve(fallback), attempt, state)
        return None

    async def _on_target(self, ctx: RequestContext, req: ChatRequest | None, dep: Deployment,
                         target: Target, attempt: Attempt[T], state: _Run
                         ) -> tuple[Action, tuple[T, Lease] | None]:
        breaker = self._breakers.get(target.deployment)
        cfg = state.policy.cfg
        clock = self._clock
        retries = 0
        prepaid = False
        while True:
            now = clock.monotonic()
            if state.attempts >= cfg.max_attempts or now >= ctx.deadline:
                return Action.STOP, None
            if not breaker.allow(now):
                state.blocked.append(breaker.remaining_open(now))
                return Action.NEXT, None
            # Every attempt after the first (retry or failover) spends the gateway's budget.
            if state.attempts > 0 and not prepaid and not self._budget.try_withdraw():
                breaker.release()
                return Action.STOP, None
            prepaid = False
            try:
                lease = await self._capacity.acquire(ctx, target, req)
            except RateLimited as denied:
                breaker.release()
                state.capacity_denied = denied
                return Action.NEXT, None
            except BaseException:
                breaker.release()
                raise
            state.attempts += 1
            try:
                value = await attempt(target, dep, self._timeouts(dep, ctx.deadline - now))
            except GatewayError as err:
                await lease.release(err)
                self._record(ctx, state, target, err, now)
                breaker.record(clock.monotonic(), ok=not breaker_failure(err))
                action, wait = self._after_failure(ctx, req, target, err, retries, state)
                if action is not Action.RETRY:
                    return action, None
                prepaid = True
                await clock.sleep(wait)
                retries += 1
                continue
            except BaseException:
                # Cancelled (client gone) or a bug: nothing was learned about the deployment.
                breaker.release()
                await lease.release(None)
                raise
            breaker.record(clock.monotonic(), ok=True)
            self._record(ctx, state, target, None, now)
            ctx.target = target
            return Action.NEXT, (value, lease)

    def _after_failure(self, ctx: RequestContext, req: ChatRequest | None, target: Target,
                       err: GatewayError, retries: int, state: _Run) -> tuple[Action, float]:
        """What to do after a failed attempt, and the backoff when it is RETRY (with the
        budget already withdrawn for it)."""
        policy = state.policy
        action = self._decide(err, retries, policy)
        if action is Action.NEXT_KEY:
            self._cooldown.bench(target.key_id)
            return Action.NEXT, 0.0
        if action is Action.STOP and isinstance(err, UpstreamBadRequest):
            # Passed through: the client sees the provider's 4xx status (sanitized message).
            upstream = err.upstream_status
            if upstream is not None and 400 <= upstream < 500 and upstream not in (401, 403):
                err.status = upstream  # type: ignore[misc]
        if action is Action.STOP and req is not None and isinstance(err, UpstreamError):
            log.warning("upstream %s rejected request %s (HTTP %s, %s); payload: %s",
                        target.deployment, ctx.request_id, err.upstream_status, err.code,
                        redacted_payload(req))
        if action is not Action.RETRY:
            return action, 0.0
        wait = policy.backoff.delay(retries, err.retry_after, self._rng)
        if wait > policy.backoff.cap or self._clock.monotonic() + wait > ctx.deadline:
            # Waiting here would pass the cap or the deadline: fail over now; if nothing else
            # answers, the client gets this error with its Retry-After.
            if err.retry_after is None:
                err.retry_after = wait
            return Action.NEXT, 0.0
        if not self._budget.try_withdraw():
            return Action.STOP, 0.0  # the gateway-wide retry budget is spent
        return Action.RETRY, wait

    def _decide(self, err: GatewayError, retries: int, policy: _Policy) -> Action:
        if isinstance(err, UpstreamContextLength):
            return Action.CONTEXT
        if isinstance(err, UpstreamAuthError):
            return Action.NEXT_KEY
        if not isinstance(err, UpstreamError):
            return Action.STOP  # a bad request: no other deployment would do better
        if err.failover:
            return Action.NEXT  # connect errors, timeouts, garbage: another deployment first
        if err.retryable:
            return Action.RETRY if retries < policy.retries.get(_kind(err), 0) else Action.NEXT
        return Action.STOP

    def _record(self, ctx: RequestContext, state: _Run, target: Target,
                err: GatewayError | None, started: float) -> None:
        latency = int((self._clock.monotonic() - started) * 1000)
        status = err.upstream_status if isinstance(err, UpstreamError) else (
            None if err else 200)
        ctx.attempts.append(AttemptRow(deployment=target.deployment, status=status,
                                       error_code=err.code if err else None,
                                       latency_ms=latency))
        if err is not None:
            state.last = err
            state.records.append(AttemptRecord(target.deployment, err.code, status))

    def _final(self, state: _Run) -> GatewayError:
        last = state.last
        if last is None and state.capacity_denied is not None:
            return state.capacity_denied
        if last is None and state.refused and not state.blocked:
            rules = ", ".join(sorted(set(state.refused)))
            return PolicyViolation(
                f"no deployment of this model satisfies the data policy ({rules}); the request "
                "was not sent anywhere")
        if last is None:
            retry_after = min(state.blocked) if state.blocked else None
            return GatewayUnavailable(
                "every deployment of this model is unavailable right now; retry later",
                retry_after=retry_after,
            )
        if len(state.records) == 1:
            return last
        return AllTargetsFailed(last, tuple(state.records))

    def timeouts_for(self, dep: Deployment) -> Timeouts:
        return self._timeouts(dep, self._default.cfg.deadline_seconds)

    def _timeouts(self, dep: Deployment, remaining: float) -> Timeouts:
        t = dep.timeouts
        total = max(0.001, min(t.total, remaining))
        return Timeouts(connect=min(t.connect, total), first_byte=min(t.first_token, total),
                        idle=t.idle, total=total)

    def _rotate(self, targets: tuple[Target, ...]) -> tuple[Target, ...]:
        # Spread load over a deployment's keys; capacity decides finally which key has room.
        if len(targets) < 2:
            return targets
        i = self._rng.randrange(len(targets))
        return targets[i:] + targets[:i]


def with_max_tokens(req: ChatRequest, dep: Deployment) -> ChatRequest:
    """`max_tokens` is always set upstream: the deployment's default when the client gave
    none, so reservations and cost ceilings have a bound."""
    if req.output_cap is not None:
        return req
    return msgspec.structs.replace(req, max_tokens=dep.max_tokens_default)
