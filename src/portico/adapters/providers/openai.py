"""OpenAI's own API: the reference implementation of the openai_chat dialect.

API: https://platform.openai.com/docs/api-reference/chat
Data: https://platform.openai.com/docs/guides/your-data
"""

from __future__ import annotations

from typing import Final

from portico.adapters.base import AuthScheme, DataPolicy, LimitDefaults, ProviderSpec

SPEC: Final = ProviderSpec(
    name="openai",
    dialect="openai_chat",
    base_url="https://api.openai.com/v1",
    auth=AuthScheme.BEARER,
    env_key="OPENAI_API_KEY",
    # Usage tier 1 figures for a GPT-4o-class model; real limits come back in the
    # x-ratelimit-* headers and from config.
    limits=LimitDefaults(requests_per_minute=500, tokens_per_minute=30_000),
    data_policy=DataPolicy(
        # API inputs and outputs are kept up to 30 days for abuse monitoring and are not used
        # for training unless the organisation opts in; ZDR is granted to eligible customers.
        retention_days=30,
        trains_on_data=False,
        zero_retention_available=True,
        # Data residency projects exist for the US and Europe.
        regions=("us", "eu"),
    ),
    supports_embeddings=True,
    # Generation keeps running (and billing) after the client goes away.
    bills_after_disconnect=True,
    doc_url="https://platform.openai.com/docs/api-reference/chat",
)
