"""DeepSeek's OpenAI-compatible API.

API: https://api-docs.deepseek.com/api/create-chat-completion
Data: https://cdn.deepseek.com/policies/en-US/deepseek-privacy-policy.html
"""

from __future__ import annotations

from typing import Final

from portico.adapters.base import AuthScheme, DataPolicy, LimitDefaults, ProviderSpec

SPEC: Final = ProviderSpec(
    name="deepseek",
    dialect="openai_chat",
    base_url="https://api.deepseek.com/v1",
    auth=AuthScheme.BEARER,
    env_key="DEEPSEEK_API_KEY",
    # DeepSeek documents max_tokens only.
    field_renames=(("max_completion_tokens", "max_tokens"),),
    stream_usage=True,
    # DeepSeek sets no fixed rate limits: under load it holds the connection open with
    # keep-alive lines instead of returning 429.
    limits=LimitDefaults(),
    data_policy=DataPolicy(
        # The privacy policy keeps data "as long as necessary" and allows using inputs to
        # improve its services; data is stored in the People's Republic of China.
        retention_days=None,
        trains_on_data=True,
        zero_retention_available=False,
        regions=("cn",),
    ),
    # No embeddings endpoint.
    supports_embeddings=False,
    bills_after_disconnect=True,
    doc_url="https://api-docs.deepseek.com/api/create-chat-completion",
)
