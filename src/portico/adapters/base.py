"""The contracts between the router and the adapters: targets, requests, dialects, decoders."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

from portico.errors import GatewayError
from portico.schema.chat import ChatRequest
from portico.schema.embeddings import EmbeddingRequest, EmbeddingResponse
from portico.schema.response import ChatResponse
from portico.schema.stream import ChatChunk
from portico.secret import Secret


class AuthScheme(enum.Enum):
    BEARER = "bearer"                  # Authorization: Bearer <key>
    X_API_KEY = "x-api-key"            # Anthropic
    API_KEY_HEADER = "api-key"         # Azure OpenAI
    GOOGLE_API_KEY = "x-goog-api-key"  # Gemini
    NONE = "none"                      # self-hosted servers without auth


@dataclass(frozen=True, slots=True)
class LimitDefaults:
    """What a vendor meters per key, as defaults that config can override (None: unmetered)."""

    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    input_tokens_per_minute: int | None = None
    output_tokens_per_minute: int | None = None
    concurrency: int | None = None


@dataclass(frozen=True, slots=True)
class DataPolicy:
    """How a vendor treats API data, as its published terms say (config may override)."""

    retention_days: int | None       # None: unknown or unbounded
    trains_on_data: bool
    zero_retention_available: bool
    regions: tuple[str, ...] = ()
    self_hosted: bool = False


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """A vendor endpoint: mostly data, read by dialects and the router."""

    name: str
    dialect: str
    base_url: str
    auth: AuthScheme
    data_policy: DataPolicy
    env_key: str | None = None           # the standard environment variable for its key
    limits: LimitDefaults = LimitDefaults()
    default_headers: tuple[tuple[str, str], ...] = ()
    supports_embeddings: bool = True
    bills_after_disconnect: bool = True
    # Self-hosted servers live on private addresses by design; others must not.
    internal: bool = False
    doc_url: str = ""
    # OpenAI-dialect request shape, as data rather than per-vendor branches. Paths are joined to
    # the base URL and may hold a `{model}` placeholder (Azure puts the deployment in the path).
    chat_path: str = "/chat/completions"
    embeddings_path: str = "/embeddings"
    api_version: str | None = None       # default `api-version` query; Target.api_version wins
    stream_usage: bool = True            # honours stream_options.include_usage
    field_renames: tuple[tuple[str, str], ...] = ()  # (canonical field, upstream field)
    dropped_fields: tuple[str, ...] = ()  # canonical fields the upstream rejects


@dataclass(frozen=True, slots=True)
class Target:
    """One concrete place a request can go: a deployment of a model on an upstream key."""

    deployment: str              # stable id used by breakers, limits and the ledger
    provider: ProviderSpec
    model: str                   # the upstream's own model name
    base_url: str                # from config or the spec; never from client input
    api_key: Secret | None
    key_id: str                  # names the upstream key in logs and limits; not secret
    api_version: str | None = None
    extra_headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class UpstreamRequest:
    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    stream: bool = False


@dataclass(frozen=True, slots=True)
class UpstreamResponse:
    status: int
    headers: Mapping[str, str]   # lower-cased names
    body: bytes


@dataclass(frozen=True, slots=True)
class SSEEvent:
    data: str
    event: str | None = None
    id: str | None = None
    retry: int | None = None


class StreamDecoder(Protocol):
    """Turns one upstream stream's events into canonical chunks; owns all its state."""

    def feed(self, event: SSEEvent) -> Sequence[ChatChunk]:
        """Chunks for this event; raises GatewayError for an in-band error event."""
        ...

    def finish(self) -> Sequence[ChatChunk]:
        """Trailing chunks (finish reason, usage) once the upstream stream has ended."""
        ...

    @property
    def done(self) -> bool:
        """True once the upstream signalled a complete stream (e.g. [DONE], message_stop)."""
        ...


class Dialect(Protocol):
    name: ClassVar[str]

    def translate_request(self, req: ChatRequest, target: Target) -> UpstreamRequest: ...

    def parse_response(self, resp: UpstreamResponse, target: Target,
                       req: ChatRequest) -> ChatResponse: ...

    def open_stream(self, target: Target, req: ChatRequest) -> StreamDecoder: ...

    def map_error(self, resp: UpstreamResponse, target: Target) -> GatewayError: ...


@runtime_checkable
class EmbeddingDialect(Protocol):
    def translate_embeddings(self, req: EmbeddingRequest, target: Target) -> UpstreamRequest: ...

    def parse_embeddings(self, resp: UpstreamResponse, target: Target,
                         req: EmbeddingRequest) -> EmbeddingResponse: ...
