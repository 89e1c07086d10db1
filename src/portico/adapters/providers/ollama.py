"""Ollama's OpenAI-compatible endpoint on a local or private host (no auth).

API: https://github.com/ollama/ollama/blob/main/docs/openai.md
"""

from __future__ import annotations

from typing import Final

from portico.adapters.base import AuthScheme, DataPolicy, LimitDefaults, ProviderSpec

SPEC: Final = ProviderSpec(
    name="ollama",
    dialect="openai_chat",
    base_url="http://127.0.0.1:11434/v1",
    auth=AuthScheme.NONE,
    env_key=None,
    field_renames=(("max_completion_tokens", "max_tokens"),),
    stream_usage=True,
    # Ollama serves OLLAMA_NUM_PARALLEL requests per model at once (4 by default) and
    # queues the rest; tokens are not metered.
    limits=LimitDefaults(concurrency=4),
    data_policy=DataPolicy(
        # Data stays on the operator's machine.
        retention_days=None,
        trains_on_data=False,
        zero_retention_available=True,
        regions=(),
        self_hosted=True,
    ),
    supports_embeddings=True,
    # Ollama stops generating when the connection closes, and nothing is billed.
    bills_after_disconnect=False,
    internal=True,
    doc_url="https://github.com/ollama/ollama/blob/main/docs/openai.md",
)
