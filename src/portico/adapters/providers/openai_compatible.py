"""Any other OpenAI-compatible server; its base URL and key must come from config.

API: https://platform.openai.com/docs/api-reference/chat (the dialect it claims to speak)
"""

from __future__ import annotations

from typing import Final

from portico.adapters.base import AuthScheme, DataPolicy, LimitDefaults, ProviderSpec

SPEC: Final = ProviderSpec(
    name="openai_compatible",
    dialect="openai_chat",
    # Empty on purpose: there is no default host for an unknown vendor.
    base_url="",
    auth=AuthScheme.BEARER,
    env_key=None,
    # max_tokens is the field every OpenAI-compatible server understands.
    field_renames=(("max_completion_tokens", "max_tokens"),),
    stream_usage=True,
    limits=LimitDefaults(),
    data_policy=DataPolicy(
        # Nothing is known about an unnamed vendor, so the worst case is assumed until config
        # says otherwise: unknown retention, may train, no zero retention.
        retention_days=None,
        trains_on_data=True,
        zero_retention_available=False,
        regions=(),
    ),
    supports_embeddings=True,
    bills_after_disconnect=True,
    doc_url="https://platform.openai.com/docs/api-reference/chat",
)
