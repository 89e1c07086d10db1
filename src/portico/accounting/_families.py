"""Which tokenizer family a model belongs to, and the documented estimate rules per family.

OpenAI models are counted exactly with their tiktoken encoding. Other vendors' tokenizers are
not public (or not offline), so their counts are o200k_base counts scaled by a factor chosen to
over- rather than under-estimate; reservations settle to the provider's reported usage anyway.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Final


class Family(enum.Enum):
    OPENAI = "openai"
    ANTHROPIC = "anthropic"
    GEMINI = "gemini"
    OTHER = "other"   # Mistral, DeepSeek, Qwen, Llama, gpt-oss...: SentencePiece/BPE of their own


@dataclass(frozen=True, slots=True)
class FamilyRule:
    """How to estimate one family's prompt tokens from an o200k_base (or exact) count."""

    factor_pct: int          # text tokens = ceil(base count * factor_pct / 100)
    per_message: int         # framing tokens added per message (role markers)
    per_name: int            # extra when a message carries `name`
    reply_priming: int       # tokens that open the assistant's reply
    tools_preamble: int      # fixed tokens the vendor adds when tools are present


RULES: Final = {
    # OpenAI cookbook "How to count tokens with tiktoken": 3 per message, +1 for a name, and
    # every reply is primed with <|start|>assistant<|message|> (3).
    Family.OPENAI: FamilyRule(100, 3, 1, 3, 0),
    # Claude's tokenizer yields more tokens than o200k_base (Anthropic: newer models use up to
    # ~35% more than older ones); +25% over o200k. Anthropic documents a tool-use system
    # prompt of 346 tokens (tool_choice auto/none, Claude 3.5+ / 4.x).
    Family.ANTHROPIC: FamilyRule(125, 4, 1, 3, 346),
    # Gemini's 256k SentencePiece vocabulary is about as dense as o200k_base; +10% margin.
    Family.GEMINI: FamilyRule(110, 4, 1, 3, 0),
    # Smaller vocabularies (Mistral 131k Tekken, Llama 3 128k, Qwen 151k, DeepSeek 128k):
    # +20% over o200k_base.
    Family.OTHER: FamilyRule(120, 4, 1, 3, 0),
}

O200K: Final = "o200k_base"
CL100K: Final = "cl100k_base"

# Order matters: the first matching pattern wins (gpt-4o before gpt-4).
_OPENAI_ENCODINGS: Final = (
    (re.compile(r"(ft:)?(gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|chatgpt-|gpt-realtime|gpt-audio|codex-)"),
     O200K),
    (re.compile(r"(ft:)?o[1-9](-|$)"), O200K),
    (re.compile(r"(computer-use|omni-moderation)"), O200K),
    (re.compile(r"(ft:)?(gpt-4|gpt-3\.5|gpt-35)"), CL100K),
    (re.compile(r"text-embedding-(3|ada-002)"), CL100K),
)
# Routing prefixes some providers put before a model name (OpenRouter, Azure "eu/").
_PREFIX = re.compile(r"^(?:openai/|azure/|(?:eu|us|global)/)+")


@dataclass(frozen=True, slots=True)
class Resolved:
    """A model's family and the encoding used to count it; exact only for known OpenAI models."""

    family: Family
    encoding: str
    exact: bool


def resolve(provider: str, model: str) -> Resolved:
    """Family and encoding for a provider's model name."""
    name = _PREFIX.sub("", model.lower())
    for pattern, encoding in _OPENAI_ENCODINGS:
        if pattern.match(name):
            return Resolved(Family.OPENAI, encoding, exact=True)
    if "claude" in name or provider == "anthropic":
        return Resolved(Family.ANTHROPIC, O200K, exact=False)
    if name.startswith(("gemini", "gemma")) or provider == "gemini":
        return Resolved(Family.GEMINI, O200K, exact=False)
    if provider in ("openai", "azure_openai"):
        # An unrecognised OpenAI model (or an Azure deployment name): newest encoding, estimate.
        return Resolved(Family.OPENAI, O200K, exact=False)
    return Resolved(Family.OTHER, O200K, exact=False)


def scale(count: int, family: Family) -> int:
    """A base count scaled by the family's factor, rounded up."""
    return -(-count * RULES[family].factor_pct // 100)
