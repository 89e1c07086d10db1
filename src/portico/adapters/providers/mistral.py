"""Mistral AI's La Plateforme: OpenAI-style chat with its own field names and strict bodies.

API: https://docs.mistral.ai/api/
Data: https://mistral.ai/terms
"""

from __future__ import annotations

from typing import Final

from portico.adapters.base import AuthScheme, DataPolicy, LimitDefaults, ProviderSpec

SPEC: Final = ProviderSpec(
    name="mistral",
    dialect="openai_chat",
    base_url="https://api.mistral.ai/v1",
    auth=AuthScheme.BEARER,
    env_key="MISTRAL_API_KEY",
    # Mistral reports usage on the last streamed chunk unasked and rejects unknown fields.
    stream_usage=False,
    field_renames=(("max_completion_tokens", "max_tokens"), ("seed", "random_seed")),
    dropped_fields=(
        "user", "metadata", "logit_bias", "logprobs", "top_logprobs", "store",
        "service_tier", "verbosity", "modalities", "audio", "web_search_options",
        "prompt_cache_key", "prompt_cache_retention", "prompt_cache_options",
        "safety_identifier", "moderation", "functions", "function_call", "stream_options",
    ),
    # Mistral meters requests per second and tokens per minute per workspace; concurrency is
    # held low as a conservative default.
    limits=LimitDefaults(requests_per_minute=60, tokens_per_minute=500_000, concurrency=5),
    data_policy=DataPolicy(
        # API data is kept 30 days for abuse monitoring, not used for training on paid plans;
        # zero data retention can be requested.
        retention_days=30,
        trains_on_data=False,
        zero_retention_available=True,
        regions=("eu",),
    ),
    supports_embeddings=True,
    bills_after_disconnect=True,
    doc_url="https://docs.mistral.ai/api/",
)
