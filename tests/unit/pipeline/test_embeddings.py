"""Embeddings inputs and sizing: text apart from token arrays; input tokens and the worst-case
cost (input price only) over the group's deployments, counted lazily and once per model."""

from __future__ import annotations

import pytest

from portico.accounting.prices import PriceCatalog, PriceEntry
from portico.errors import InternalError
from portico.pipeline.context import RequestContext
from portico.pipeline.embeddings import EmbeddingInputs, EmbeddingSizing, sizing_of, split_inputs
from portico.schema.embeddings import EmbeddingRequest


class Words:
    """A token counter stand-in: one token per word (two for the model `big`)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def count_text(self, model: str, text: str) -> int:
        self.calls.append(model)
        return len(text.split()) * (2 if model == "big" else 1)


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


def sizing(inputs: object, targets: list[tuple[str, str]]) -> tuple[EmbeddingSizing, Words]:
    words = Words()
    return EmbeddingSizing(words, PRICES, targets, req(inputs), 0), words  # type: ignore[arg-type]


def test_input_tokens_on_the_first_deployment_counted_once() -> None:
    s, words = sizing(["one two three", [7, 8]], [("p", "cheap"), ("p", "big")])
    assert s.input_tokens() == 3 + 2
    assert s.input_tokens() == 5
    assert words.calls == ["cheap"]


def test_worst_case_is_input_at_the_dearest_input_price_no_output() -> None:
    s, _ = sizing(" ".join(["w"] * 1000), [("p", "cheap"), ("p", "big"), ("p", "unpriced")])
    # cheap: 1000 tokens at $0.02/M = 20; big: 2000 at $0.13/M = 260; output price ignored.
    assert s.worst_case_micros() == 260


def test_nothing_counted_until_asked_and_unknown_models_size_zero() -> None:
    s, words = sizing("text", [])
    assert words.calls == []
    assert s.input_tokens() == 0 and s.worst_case_micros() == 0


def test_an_unsized_context_fails_closed() -> None:
    with pytest.raises(InternalError):
        sizing_of(RequestContext(request_id="r", started=0.0, ts_ms=0))
