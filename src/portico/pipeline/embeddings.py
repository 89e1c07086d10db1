"""What the pipeline reads from an embeddings request: its text inputs (screenable) apart from
its token-array inputs (not), and the lazy sizing the limit and budget hooks reserve with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from portico.accounting.prices import PriceCatalog
from portico.accounting.tokens import rough_tokens
from portico.errors import InternalError
from portico.pipeline.context import RequestContext, RequestSizing
from portico.schema.embeddings import EmbeddingRequest


@dataclass(frozen=True, slots=True)
class EmbeddingInputs:
    texts: tuple[str, ...]      # the string inputs, in order
    token_arrays: int           # inputs sent as token ids: nothing can be screened in them
    token_ids: int              # token ids across those arrays


def split_inputs(req: EmbeddingRequest) -> EmbeddingInputs:
    """OpenAI accepts a string, a list of strings, one token array or a list of token arrays."""
    raw = req.input
    if isinstance(raw, str):
        return EmbeddingInputs((raw,), 0, 0)
    texts = tuple(x for x in raw if isinstance(x, str))
    flat = sum(1 for x in raw if isinstance(x, int))      # the ids of one bare token array
    nested = [x for x in raw if isinstance(x, list)]
    return EmbeddingInputs(texts, len(nested) + (1 if flat else 0),
                           flat + sum(len(x) for x in nested))


class EmbeddingSizing:
    """Input tokens for reservations, as chat's: from characters (`rough_tokens`), since the
    provider's reported usage settles them; no encoding is loaded or run. The worst case prices
    them at the dearest input rate among the group's deployments, since embeddings bill no
    output. Counted on first use: a request that meets no token limit and no budget is never
    sized."""

    def __init__(self, prices: PriceCatalog, targets: Sequence[tuple[str, str]],
                 req: EmbeddingRequest, at_ms: int) -> None:
        self._prices = prices
        self._targets = tuple(targets)        # (provider, upstream model) per deployment
        self._at = at_ms
        self._inputs = split_inputs(req)
        self._tokens: int | None = None

    def _count(self) -> int:
        if self._tokens is None:
            self._tokens = self._inputs.token_ids + sum(rough_tokens(t)
                                                        for t in self._inputs.texts)
        return self._tokens

    def input_tokens(self) -> int:
        # An unknown model has no deployment: the executor answers 404, nothing to reserve.
        return self._count() if self._targets else 0

    def worst_case_micros(self) -> int:
        best = 0
        for provider, model in self._targets:
            price = self._prices.lookup(provider, model, self._at)
            if price is None:
                continue   # unpriced models are flagged at start and count 0, as for chat
            best = max(best, self._prices.worst_case(price, self._count(), 0))
        return best


def sizing_of(ctx: RequestContext) -> RequestSizing:
    """The request's sizing; a route that forgot to set it fails closed, never unmetered."""
    if ctx.sizing is None:
        raise InternalError("the request reached a limit or budget stage without a size")
    return ctx.sizing
