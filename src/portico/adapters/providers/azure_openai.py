"""Azure OpenAI: the OpenAI dialect with the deployment in the path and `api-key` auth.

API: https://learn.microsoft.com/en-us/azure/ai-foundry/openai/reference
Data: https://learn.microsoft.com/en-us/azure/ai-foundry/responsible-ai/openai/data-privacy
"""

from __future__ import annotations

from typing import Final

from portico.adapters.base import AuthScheme, DataPolicy, LimitDefaults, ProviderSpec

SPEC: Final = ProviderSpec(
    name="azure_openai",
    dialect="openai_chat",
    # Each resource has its own host (https://<resource>.openai.azure.com): config sets it.
    base_url="",
    auth=AuthScheme.API_KEY_HEADER,
    env_key="AZURE_OPENAI_API_KEY",
    # `{model}` is the Azure deployment name (Target.model).
    chat_path="/openai/deployments/{model}/chat/completions",
    embeddings_path="/openai/deployments/{model}/embeddings",
    # The latest GA data-plane version; a deployment's api_version in config wins.
    api_version="2024-10-21",
    stream_usage=True,
    # Quota is assigned per deployment in TPM, with 6 RPM granted per 1,000 TPM.
    limits=LimitDefaults(requests_per_minute=180, tokens_per_minute=30_000),
    data_policy=DataPolicy(
        # Prompts and completions may be stored up to 30 days for abuse monitoring; customers
        # approved for modified abuse monitoring get no storage. Never used for training.
        retention_days=30,
        trains_on_data=False,
        zero_retention_available=True,
        # The region is the resource's own Azure region: set it in config.
        regions=(),
    ),
    supports_embeddings=True,
    bills_after_disconnect=True,
    doc_url="https://learn.microsoft.com/en-us/azure/ai-foundry/openai/reference",
)
