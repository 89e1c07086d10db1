"""Anthropic's Messages API (the anthropic_messages dialect).

API: https://docs.anthropic.com/en/api/messages
Data: https://privacy.anthropic.com/en/articles/7996866-how-long-do-you-store-my-organization-s-data
"""

from __future__ import annotations

from typing import Final

from portico.adapters.base import AuthScheme, DataPolicy, LimitDefaults, ProviderSpec

SPEC: Final = ProviderSpec(
    name="anthropic",
    dialect="anthropic_messages",
    base_url="https://api.anthropic.com/v1",
    auth=AuthScheme.X_API_KEY,
    env_key="ANTHROPIC_API_KEY",
    default_headers=(("anthropic-version", "2023-06-01"),),
    chat_path="/messages",
    # Anthropic meters input and output tokens per minute separately (tier 1, Sonnet-class).
    limits=LimitDefaults(
        requests_per_minute=50,
        input_tokens_per_minute=30_000,
        output_tokens_per_minute=8_000,
    ),
    data_policy=DataPolicy(
        # API data is deleted after 30 days and not used for training; zero data retention
        # is available by agreement.
        retention_days=30,
        trains_on_data=False,
        zero_retention_available=True,
        regions=("us",),
    ),
    # Anthropic has no embeddings endpoint (it points to Voyage AI).
    supports_embeddings=False,
    bills_after_disconnect=True,
    doc_url="https://docs.anthropic.com/en/api/messages",
)
