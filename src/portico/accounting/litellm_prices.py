"""Import of LiteLLM's community price map (model_prices_and_context_window.json).

LiteLLM stores float USD per token; each is converted exactly via Decimal(str(x)) into integer
micro-USD per 1M tokens. Only token-priced text models of Portico's providers are kept.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import msgspec

from portico.accounting.prices import PriceEntry

log = logging.getLogger(__name__)

# LiteLLM's `litellm_provider` -> Portico's provider spec name.
PROVIDER_MAP: tuple[tuple[str, str], ...] = (
    ("openai", "openai"),
    ("azure", "azure_openai"),
    ("anthropic", "anthropic"),
    ("gemini", "gemini"),
    ("mistral", "mistral"),
    ("deepseek", "deepseek"),
    ("dashscope", "qwen"),
    ("groq", "groq"),
    ("together_ai", "together"),
    ("openrouter", "openrouter"),
)
_PROVIDERS = dict(PROVIDER_MAP)
# Modes billed per text token; image, audio and video modes are priced per unit instead.
_TOKEN_MODES = frozenset({"chat", "completion", "responses", "embedding"})
_USD_TOKEN_TO_MICROS_PER_MTOK = Decimal(10) ** 12
_EPOCH = dt.date(1970, 1, 1)


class _LiteLLMModel(msgspec.Struct):
    litellm_provider: str = ""
    mode: str = ""
    input_cost_per_token: float | None = None
    output_cost_per_token: float | None = None
    cache_read_input_token_cost: float | None = None
    cache_creation_input_token_cost: float | None = None
    input_cost_per_token_batches: float | None = None
    output_cost_per_token_batches: float | None = None
    cache_read_input_token_cost_batches: float | None = None
    cache_creation_input_token_cost_batches: float | None = None
    max_input_tokens: int | None = None
    max_output_tokens: int | None = None
    max_tokens: int | None = None


def micros_per_mtok(usd_per_token: float) -> int:
    """USD per token (a LiteLLM float) -> integer micro-USD per 1M tokens, without float error."""
    exact = Decimal(str(usd_per_token)) * _USD_TOKEN_TO_MICROS_PER_MTOK
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _rate(x: float | None) -> int | None:
    return None if x is None else micros_per_mtok(x)


def _positive(n: int | None) -> int | None:
    return n if n is not None and n > 0 else None


def _entry(key: str, m: _LiteLLMModel, provider: str, effective_from: dt.date) -> PriceEntry | None:
    if m.mode not in _TOKEN_MODES or m.input_cost_per_token is None:
        return None
    output = m.output_cost_per_token
    if output is None:
        if m.mode != "embedding":
            return None  # a chat model without an output price is unpriced, not free
        output = 0.0
    prefix = m.litellm_provider + "/"
    model = key[len(prefix):] if key.startswith(prefix) else key
    return PriceEntry(
        provider=provider,
        model=model,
        effective_from=effective_from,
        input=micros_per_mtok(m.input_cost_per_token),
        output=micros_per_mtok(output),
        cache_read=_rate(m.cache_read_input_token_cost),
        cache_write=_rate(m.cache_creation_input_token_cost),
        batch_input=_rate(m.input_cost_per_token_batches),
        batch_output=_rate(m.output_cost_per_token_batches),
        batch_cache_read=_rate(m.cache_read_input_token_cost_batches),
        batch_cache_write=_rate(m.cache_creation_input_token_cost_batches),
        context_window=_positive(m.max_input_tokens),
        max_output_tokens=_positive(m.max_output_tokens or m.max_tokens),
    )


def import_litellm(path: Path, *, effective_from: dt.date = _EPOCH) -> list[PriceEntry]:
    """Price entries for Portico's providers from a LiteLLM price map file.

    When LiteLLM lists a model both as `provider/model` and bare, the prefixed key wins.
    """
    raw = msgspec.json.decode(path.read_bytes(), type=dict[str, msgspec.Raw])
    chosen: dict[tuple[str, str], tuple[bool, PriceEntry]] = {}
    skipped = 0
    for key, body in raw.items():
        try:
            m = msgspec.json.decode(body, type=_LiteLLMModel)
        except msgspec.ValidationError:
            skipped += 1  # e.g. LiteLLM's `sample_spec`, whose values are descriptions
            continue
        provider = _PROVIDERS.get(m.litellm_provider)
        if provider is None:
            continue
        entry = _entry(key, m, provider, effective_from)
        if entry is None:
            continue
        prefixed = key.startswith(m.litellm_provider + "/")
        slot = (entry.provider, entry.model)
        if slot not in chosen or (prefixed and not chosen[slot][0]):
            chosen[slot] = (prefixed, entry)
    if skipped:
        log.info("litellm import: %d malformed entries skipped in %s", skipped, path)
    return [e for _, e in chosen.values()]
