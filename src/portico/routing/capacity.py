"""The executor's view of upstream capacity: acquire a lease on a key before dispatch.

The limits package implements this with reserve-then-settle; `UnlimitedCapacity` serves
deployments with no configured limits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from portico.adapters.base import Target
from portico.errors import GatewayError
from portico.pipeline.context import RequestContext
from portico.schema.chat import ChatRequest
from portico.schema.response import Usage


class Lease(Protocol):
    async def settle(self, usage: Usage | None, headers: Mapping[str, str] | None) -> None:
        """Return what was reserved but not used; correct our view from rate-limit headers."""
        ...

    async def release(self, error: GatewayError | None) -> None:
        """The attempt failed or was cancelled: give the whole reservation back."""
        ...


class CapacityGate(Protocol):
    async def acquire(self, ctx: RequestContext, target: Target,
                      req: ChatRequest | None) -> Lease:
        """A lease on the target's upstream key; raises RateLimited when none frees in time."""
        ...


class _NoLease:
    async def settle(self, usage: Usage | None, headers: Mapping[str, str] | None) -> None:
        return None

    async def release(self, error: GatewayError | None) -> None:
        return None


class UnlimitedCapacity:
    _lease = _NoLease()

    async def acquire(self, ctx: RequestContext, target: Target,
                      req: ChatRequest | None) -> Lease:
        return self._lease
