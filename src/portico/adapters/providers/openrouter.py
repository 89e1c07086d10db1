"""OpenRouter: an OpenAI-compatible router in front of many downstream providers.

API: https://openrouter.ai/docs/api-reference/chat-completion
Data: https://openrouter.ai/docs/features/privacy-and-logging
"""

from __future__ import annotations

from typing import Final

from portico.adapters.base import AuthScheme, DataPolicy, LimitDefaults, ProviderSpec

SPEC: Final = ProviderSpec(
    name="openrouter",
    dialect="openai_chat",
    base_url="https://openrouter.ai/api/v1",
    auth=AuthScheme.BEARER,
    env_key="OPENROUTER_API_KEY",
    field_renames=(("max_completion_tokens", "max_tokens"),),
    stream_usage=True,
    # Limits depend on credits and on each downstream provider; nothing fixed to meter.
    limits=LimitDefaults(),
    data_policy=DataPolicy(
        # OpenRouter itself stores no prompts unless logging is enabled, but the downstream
        # provider's own policy applies and varies: retention is unknown. Accounts can
        # restrict routing to zero-data-retention endpoints and exclude training providers.
        retention_days=None,
        trains_on_data=False,
        zero_retention_available=True,
        regions=(),
    ),
    supports_embeddings=False,
    bills_after_disconnect=True,
    doc_url="https://openrouter.ai/docs/api-reference/chat-completion",
)
