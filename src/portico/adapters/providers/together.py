"""Together AI's OpenAI-compatible API.

API: https://docs.together.ai/reference/chat-completions-1
Data: https://www.together.ai/privacy
"""

from __future__ import annotations

from typing import Final

from portico.adapters.base import AuthScheme, DataPolicy, LimitDefaults, ProviderSpec

SPEC: Final = ProviderSpec(
    name="together",
    dialect="openai_chat",
    base_url="https://api.together.xyz/v1",
    auth=AuthScheme.BEARER,
    env_key="TOGETHER_API_KEY",
    field_renames=(("max_completion_tokens", "max_tokens"),),
    stream_usage=True,
    # Tier 1 figures.
    limits=LimitDefaults(requests_per_minute=600, tokens_per_minute=180_000),
    data_policy=DataPolicy(
        # Together does not train on API data by default and offers account settings that
        # disable prompt storage; a retention period is not published.
        retention_days=None,
        trains_on_data=False,
        zero_retention_available=True,
        regions=("us",),
    ),
    supports_embeddings=True,
    bills_after_disconnect=True,
    doc_url="https://docs.together.ai/reference/chat-completions-1",
)
