"""Reads providers' rate-limit headers into remaining counts for `Limiter.correct`.

OpenAI: x-ratelimit-remaining-{requests,tokens}; Anthropic: anthropic-ratelimit-{requests,
tokens,input-tokens,output-tokens}-remaining.
"""

from __future__ import annotations

from collections.abc import Mapping

from portico.limits.base import LimitKind

_HEADERS: tuple[tuple[str, LimitKind], ...] = (
    ("x-ratelimit-remaining-requests", LimitKind.REQUESTS_PER_MINUTE),
    ("x-ratelimit-remaining-tokens", LimitKind.TOKENS_PER_MINUTE),
    ("anthropic-ratelimit-requests-remaining", LimitKind.REQUESTS_PER_MINUTE),
    ("anthropic-ratelimit-tokens-remaining", LimitKind.TOKENS_PER_MINUTE),
    ("anthropic-ratelimit-input-tokens-remaining", LimitKind.INPUT_TOKENS_PER_MINUTE),
    ("anthropic-ratelimit-output-tokens-remaining", LimitKind.OUTPUT_TOKENS_PER_MINUTE),
)


def remaining_from_headers(headers: Mapping[str, str]) -> dict[LimitKind, int]:
    """Remaining capacity per kind; header names are matched case-insensitively and values that
    are not non-negative integers are ignored (a bad header must not open the gate)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    found: dict[LimitKind, int] = {}
    for name, kind in _HEADERS:
        raw = lowered.get(name, "").strip()
        if raw.isdigit():
            value = int(raw)
            found[kind] = min(value, found.get(kind, value))
    return found
