"""One module per vendor: a ProviderSpec (URL, auth, dialect, limits, data policy) and little
else. Each module's name is its provider's name.
"""

from __future__ import annotations

from portico.adapters.base import ProviderSpec
from portico.adapters.providers import (
    anthropic,
    azure_openai,
    deepseek,
    gemini,
    groq,
    mistral,
    ollama,
    openai,
    openai_compatible,
    openrouter,
    qwen,
    together,
    vllm,
)

_MODULES = (
    openai, azure_openai, anthropic, gemini, mistral, deepseek, qwen, groq, together,
    openrouter, ollama, vllm, openai_compatible,
)


def builtin_providers() -> dict[str, ProviderSpec]:
    """A fresh name → spec map of every built-in vendor (callers may extend their copy)."""
    return {m.SPEC.name: m.SPEC for m in _MODULES}
