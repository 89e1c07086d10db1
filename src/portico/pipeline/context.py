"""Per-request state shared by the hooks, the executor and finalize."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from portico.adapters.base import Target
from portico.schema.response import Usage
from portico.store.records import AttemptRow, DataClass, KeyRecord, LedgerStatus, Priority


class HeaderView(Protocol):
    """Read access to the client's request headers (case-insensitive), e.g. starlette's."""

    def getlist(self, key: str) -> list[str]: ...


class NoHeaders:
    def getlist(self, key: str) -> list[str]:
        return []


NO_HEADERS = NoHeaders()


class RequestSizing(Protocol):
    """A request's pre-dispatch size, computed on first use, for requests the hooks cannot
    size from a ChatRequest (embeddings): the route sets it, the limit and budget hooks read it."""

    def input_tokens(self) -> int: ...
    def worst_case_micros(self) -> int: ...


@dataclass(slots=True)
class RequestContext:
    request_id: str
    started: float                     # monotonic seconds
    ts_ms: int                         # wall clock at arrival, for the ledger
    endpoint: str = "chat"
    # The client's headers, for hooks that honour x-portico-* request options.
    headers: HeaderView = NO_HEADERS
    key: KeyRecord | None = None
    is_master: bool = False
    model_requested: str = ""
    stream: bool = False
    deadline: float = 0.0              # monotonic seconds; set by the executor
    data_class: DataClass = "internal"
    priority: Priority = "normal"
    attempts: list[AttemptRow] = field(default_factory=list)
    target: Target | None = None       # the deployment that answered
    usage: Usage | None = None
    usage_estimated: bool = False
    cost_micros: int = 0
    price_missing: bool = False
    ttft_ms: int | None = None
    status: LedgerStatus = "ok"
    http_status: int = 200
    error_code: str | None = None
    pii_counts: dict[str, int] = field(default_factory=dict)
    policy_decisions: list[str] = field(default_factory=list)
    delivered_text_chars: int = 0      # streamed to the client, for estimates on cancel
    # Set by the policy hook: returns why a target may not take this request, or None.
    target_filter: Callable[[Target], str | None] | None = None
    sizing: RequestSizing | None = None
    # Inputs the PII stage could not read in detect mode (embeddings sent as token arrays).
    pii_unscreened: int = 0

    def header(self, name: str) -> str | None:
        """The first value of a request header, or None."""
        values = self.headers.getlist(name)
        return values[0] if values else None

    @property
    def key_id(self) -> str | None:
        return self.key.id if self.key else None

    @property
    def team(self) -> str | None:
        return self.key.team if self.key else None
