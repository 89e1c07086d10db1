"""The typed shape of `portico.yaml`. Secrets appear only as references (`env:`, `file:`)."""

from __future__ import annotations

from typing import Literal

import msgspec


class _Strict(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True,
              frozen=True):
    pass


class ServerConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = 4000
    max_body_bytes: int = 4 * 1024 * 1024
    max_json_depth: int = 64
    keepalive_seconds: float = 5.0
    workers: int = 1


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


class ModelGroupConfig(_Strict):
    name: str
    deployments: list[DeploymentConfig]
    strategy: Literal["ordered", "weighted"] = "ordered"
    fallbacks: list[str] = []
    context_fallback: str | None = None


class RetryConfig(_Strict):
    max_attempts: int = 4
    deadline_seconds: float = 120.0
    retries_per_status: dict[str, int] = {}
    budget_ratio: float = 0.2
    backoff_base_seconds: float = 0.5
    backoff_cap_seconds: float = 60.0


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


class PorticoConfig(_Strict):
    server: ServerConfig = ServerConfig()
    master_key: str | None = None   # a secret reference
    store: StoreConfig = StoreConfig()
    redis: RedisConfig = RedisConfig()
    providers: dict[str, ProviderConfig] = {}
    models: list[ModelGroupConfig] = []
    retry: RetryConfig = RetryConfig()
    breaker: BreakerConfig = BreakerConfig()
    key_hash_secret: str | None = None  # a secret reference; keys a HMAC over virtual keys
