"""Google's Gemini API (generateContent; the gemini dialect).

API: https://ai.google.dev/api/generate-content
Data: https://ai.google.dev/gemini-api/terms
"""

from __future__ import annotations

from typing import Final

from portico.adapters.base import AuthScheme, DataPolicy, LimitDefaults, ProviderSpec

SPEC: Final = ProviderSpec(
    name="gemini",
    dialect="gemini",
    base_url="https://generativelanguage.googleapis.com/v1beta",
    auth=AuthScheme.GOOGLE_API_KEY,
    env_key="GEMINI_API_KEY",
    # The gemini dialect builds its own method paths (generateContent, streamGenerateContent,
    # batchEmbedContents); these record the non-streaming ones.
    chat_path="/models/{model}:generateContent",
    embeddings_path="/models/{model}:batchEmbedContents",
    # Paid tier 1 for a Pro-class model; Flash models allow more.
    limits=LimitDefaults(requests_per_minute=150, tokens_per_minute=2_000_000),
    data_policy=DataPolicy(
        # Paid-tier ("Paid Services") prompts are not used to improve products and are logged
        # for a limited time (55 days) for abuse detection. The unpaid tier may train on data:
        # a free key must override this in config.
        retention_days=55,
        trains_on_data=False,
        zero_retention_available=False,
        regions=(),
    ),
    supports_embeddings=True,
    bills_after_disconnect=True,
    doc_url="https://ai.google.dev/api/generate-content",
)
