from __future__ import annotations

from portico.limits import LimitKind
from portico.limits.headers import remaining_from_headers


def test_openai_headers() -> None:
    got = remaining_from_headers({"X-RateLimit-Remaining-Requests": "59",
                                  "x-ratelimit-remaining-tokens": "149984",
                                  "x-ratelimit-reset-tokens": "6m0s"})
    assert got == {LimitKind.REQUESTS_PER_MINUTE: 59, LimitKind.TOKENS_PER_MINUTE: 149984}


def test_anthropic_headers() -> None:
    got = remaining_from_headers({"anthropic-ratelimit-requests-remaining": "10",
                                  "anthropic-ratelimit-input-tokens-remaining": "5000",
                                  "anthropic-ratelimit-output-tokens-remaining": "800",
                                  "anthropic-ratelimit-tokens-remaining": "5800"})
    assert got[LimitKind.INPUT_TOKENS_PER_MINUTE] == 5000
    assert got[LimitKind.OUTPUT_TOKENS_PER_MINUTE] == 800
    assert got[LimitKind.TOKENS_PER_MINUTE] == 5800


def test_garbage_is_ignored() -> None:
    assert remaining_from_headers({"x-ratelimit-remaining-tokens": "-3",
                                   "x-ratelimit-remaining-requests": "lots"}) == {}
