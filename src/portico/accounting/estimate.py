"""Pre-dispatch estimates for reservations: prompt tokens per (request, provider, model) and the
worst-case cost of a request, so rate limits and budgets reserve before anything is sent.

The prompt count is `TokenCounter.rough_request` (characters, no BPE encoding): a reservation
only needs a usually-high guess, since every settle charges the provider's reported usage.
Exact counts stay where the number itself is the product (spend on streams without usage).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from decimal import Decimal
from typing import Final

from portico.accounting.prices import PriceCatalog
from portico.accounting.tokens import TokenCounter
from portico.schema.chat import ChatRequest

_CACHE_MAX: Final = 2048
_MICROS: Final = Decimal(1_000_000)


def usd_to_micros(usd: float | None) -> int | None:
    """Config budgets are written in USD; the limiter counts integer micro-USD (exact decimal
    conversion of the written number, never float arithmetic)."""
    if usd is None:
        return None
    return int(Decimal(str(usd)) * _MICROS)


class RequestEstimator:
    """Prompt-token estimates shared by the hooks and the capacity gate of one request.

    Results are kept per (request id, provider, model) in a small LRU so that the inbound
    limit, the budget and each upstream attempt size a prompt once.
    """

    def __init__(self, tokens: TokenCounter, prices: PriceCatalog) -> None:
        self._tokens = tokens
        self._prices = prices
        self._cache: OrderedDict[tuple[str, str, str], int] = OrderedDict()

    @property
    def prices(self) -> PriceCatalog:
        return self._prices

    def input_tokens(self, request_id: str, provider: str, model: str, req: ChatRequest) -> int:
        key = (request_id, provider, model)
        found = self._cache.get(key)
        if found is None:
            found = self._tokens.rough_request(provider, model, req)
            self._cache[key] = found
            if len(self._cache) > _CACHE_MAX:
                self._cache.popitem(last=False)
        return found

    def worst_case(self, provider: str, model: str, input_tokens: int, max_output: int,
                   at_ms: int) -> int | None:
        """Micro-USD upper bound, or None when the model has no price (flagged, not zero)."""
        price = self._prices.lookup(provider, model, at_ms)
        if price is None:
            return None
        return self._prices.worst_case(price, input_tokens, max_output)

    def dearest(self, request_id: str, req: ChatRequest,
                targets: Iterable[tuple[str, str, int]], at_ms: int) -> int:
        """The largest worst case over candidate (provider, model, max_output) targets: a
        reservation that fits whichever deployment serves the request. Unpriced ones count 0."""
        best = 0
        for provider, model, max_output in targets:
            tokens = self.input_tokens(request_id, provider, model, req)
            cost = self.worst_case(provider, model, tokens, max_output, at_ms)
            if cost is not None and cost > best:
                best = cost
        return best
