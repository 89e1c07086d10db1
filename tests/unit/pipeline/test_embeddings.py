"""Embeddings inputs and sizing: text apart from token arrays; input tokens (from characters, no
encoding) and the worst-case cost (input price only) over the group's deployments."""

from __future__ import annotations

import pytest

from portico.accounting.prices import PriceCatalog, PriceEntry
from portico.accounting.tokens import rough_tokens
from portico.errors import InternalError
from portico.pipeline.context import RequestContext
from portico.pipeline.embeddings import EmbeddingInputs, EmbeddingSizing, sizing_of, split_inputs
from portico.schema.embeddings import EmbeddingRequest

PRICES = PriceCatalog([PriceEntry(provider="p", model="cheap", input=20_000, output=0),
                       PriceEntry(provider="p", model="big", input=130_000, output=9_999_999)])


def req(inputs: object) -> EmbeddingRequest:
    return EmbeddingRequest(model="m", input=inputs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("inputs", "expected"), [
    ("one two", EmbeddingInputs(("one two",), 0, 0)),
    (["a", "b c"], EmbeddingInputs(("a", "b c"), 0, 0)),
    ([1, 2, 3], EmbeddingInputs((), 1, 3)),
    ([[1, 2], [3]], EmbeddingInputs((), 2, 3)),
    (["a", [1, 2]], EmbeddingInputs(("a",), 1, 2)),
])
def test_split_inputs(inputs: object, expected: EmbeddingInputs) -> None:
    assert split_inputs(req(inputs)) == expected


def sizing(inputs: object, targets: list[tuple[str, str]]) -> EmbeddingSizing:
    return EmbeddingSizing(PRICES, targets, req(inputs), 0)


def test_input_tokens_are_rough_text_tokens_plus_token_ids() -> None:
    s = sizing(["one two three", [7, 8]], [("p", "cheap"), ("p", "big")])
    assert s.input_tokens() == rough_tokens("one two three") + 2 == 5 + 2
    assert s.input_tokens() == 7


def test_worst_case_is_input_at_the_dearest_input_price_no_output() -> None:
    s = sizing(" ".join(["w"] * 1000), [("p", "cheap"), ("p", "big"), ("p", "unpriced")])
    n = rough_tokens(" ".join(["w"] * 1000))
    assert n == 667
    # cheap: 667 tokens at $0.02/M = 13.34 -> 14; big: 667 at $0.13/M = 86.71 -> 87 (rounded up);
    # the output price is ignored.
    assert s.worst_case_micros() == 87


def test_unknown_models_size_zero() -> None:
    s = sizing("text", [])
    assert s.input_tokens() == 0 and s.worst_case_micros() == 0


def test_an_unsized_context_fails_closed() -> None:
    with pytest.raises(InternalError):
        sizing_of(RequestContext(request_id="r", started=0.0, ts_ms=0))
