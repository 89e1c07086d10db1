"""Groq's OpenAI-compatible API.

API: https://console.groq.com/docs/openai
Data: https://console.groq.com/docs/your-data
"""

from __future__ import annotations

from typing import Final

from portico.adapters.base import AuthScheme, DataPolicy, LimitDefaults, ProviderSpec

SPEC: Final = ProviderSpec(
    name="groq",
    dialect="openai_chat",
    base_url="https://api.groq.com/openai/v1",
    auth=AuthScheme.BEARER,
    env_key="GROQ_API_KEY",
    # Groq answers these fields with HTTP 400 (its compatibility page). messages[].name is
    # rejected too, which a flat field list cannot express.
    dropped_fields=("logprobs", "logit_bias", "top_logprobs"),
    stream_usage=True,
    # Developer-tier figures; they vary by model.
    limits=LimitDefaults(requests_per_minute=1_000, tokens_per_minute=300_000),
    data_policy=DataPolicy(
        # Inference data is not retained by default (it may be kept up to 30 days when needed
        # for reliability or abuse investigation); zero retention can be enforced per org.
        retention_days=30,
        trains_on_data=False,
        zero_retention_available=True,
        regions=("us",),
    ),
    supports_embeddings=False,
    bills_after_disconnect=True,
    doc_url="https://console.groq.com/docs/openai",
)
