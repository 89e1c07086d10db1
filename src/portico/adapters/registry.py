"""Maps each dialect name a ProviderSpec may name to a dialect instance.

Built by factories (no module-level registry) so the app owns the object graph.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from portico.adapters.base import Dialect, EmbeddingDialect
from portico.adapters.dialects.anthropic_messages import AnthropicMessagesDialect
from portico.adapters.dialects.gemini import GeminiDialect
from portico.adapters.dialects.openai_chat import OpenAIChatDialect

Clock = Callable[[], float]


def build_dialects(clock: Clock = time.time) -> dict[str, Dialect]:
    """A fresh dialect-name → dialect map. `clock` (epoch seconds) reaches the dialects that
    stamp `created` themselves (OpenAI-dialect upstreams send their own)."""
    dialects: tuple[Dialect, ...] = (
        OpenAIChatDialect(), AnthropicMessagesDialect(clock), GeminiDialect(clock))
    return {d.name: d for d in dialects}


def build_embedding_dialects(clock: Clock = time.time) -> dict[str, EmbeddingDialect]:
    """The dialects that also translate embeddings, by dialect name (Anthropic has none)."""
    return {OpenAIChatDialect.name: OpenAIChatDialect(), GeminiDialect.name: GeminiDialect(clock)}
