"""Alibaba Cloud Model Studio (DashScope) in its OpenAI-compatible mode, international site.

API: https://www.alibabacloud.com/help/en/model-studio/compatibility-of-openai-with-dashscope
Data: https://www.alibabacloud.com/help/en/model-studio/privacy-notice
"""

from __future__ import annotations

from typing import Final

from portico.adapters.base import AuthScheme, DataPolicy, LimitDefaults, ProviderSpec

SPEC: Final = ProviderSpec(
    name="qwen",
    dialect="openai_chat",
    base_url="https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
    auth=AuthScheme.BEARER,
    env_key="DASHSCOPE_API_KEY",
    field_renames=(("max_completion_tokens", "max_tokens"),),
    stream_usage=True,
    # Per-model limits are documented per account; these are conservative defaults.
    limits=LimitDefaults(requests_per_minute=600, tokens_per_minute=1_000_000),
    data_policy=DataPolicy(
        # Retention is not published as a number. Model Studio states customer data is not
        # used to train models. The international endpoint is served from Singapore.
        retention_days=None,
        trains_on_data=False,
        zero_retention_available=False,
        regions=("sg",),
    ),
    # text-embedding-v3/v4 are served on the compatible-mode /embeddings path.
    supports_embeddings=True,
    bills_after_disconnect=True,
    doc_url="https://www.alibabacloud.com/help/en/model-studio/compatibility-of-openai-with-dashscope",
)
