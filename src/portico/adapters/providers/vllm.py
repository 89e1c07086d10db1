"""vLLM's OpenAI-compatible server, self-hosted on a private address.

API: https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html
"""

from __future__ import annotations

from typing import Final

from portico.adapters.base import AuthScheme, DataPolicy, LimitDefaults, ProviderSpec

SPEC: Final = ProviderSpec(
    name="vllm",
    dialect="openai_chat",
    # The conventional local address of `vllm serve`; config normally sets the real host.
    base_url="http://127.0.0.1:8000/v1",
    # vLLM accepts an optional --api-key as a bearer token; with none set the header is
    # simply omitted.
    auth=AuthScheme.BEARER,
    env_key=None,
    stream_usage=True,
    # vLLM batches continuously; capacity depends on the hardware, so nothing is metered.
    limits=LimitDefaults(),
    data_policy=DataPolicy(
        retention_days=None,
        trains_on_data=False,
        zero_retention_available=True,
        regions=(),
        self_hosted=True,
    ),
    supports_embeddings=True,
    # vLLM aborts the request when the client disconnects.
    bills_after_disconnect=False,
    internal=True,
    doc_url="https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html",
)
