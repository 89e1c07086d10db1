"""Reservation estimates: character-based prompt sizes that load no BPE encoding and stay at or
above the exact count for prose, and the per-request cache of `RequestEstimator`."""

from __future__ import annotations

import pytest

from portico.accounting.estimate import RequestEstimator
from portico.accounting.prices import PriceCatalog
from portico.accounting.tokens import TokenCounter, rough_tokens
from portico.schema.chat import (
    AssistantMessage,
    ChatRequest,
    FunctionDef,
    SystemMessage,
    Tool,
    UserMessage,
)

PROSE = [
    "Hello, World! How's it going? I'm fine; they'll see.",
    "The quick brown fox jumps over the lazy dog. " * 20,
    "Größenänderung der Straßenbahn über die Brücke. " * 5,
    "Привет, как дела? Всё хорошо, спасибо. " * 5,
    "我们今天去公园散步\uff0c然后吃了午饭。" * 5,
    "今日はとても良い天気ですね。散歩に行きましょう。" * 5,
    "emoji 🙂🚀 and words " * 5,
]


@pytest.fixture(scope="module")
def exact() -> TokenCounter:
    c = TokenCounter()
    c.warm(("o200k_base",))
    return c


@pytest.mark.parametrize("text", PROSE)
def test_rough_count_is_at_least_the_exact_count_on_prose(exact: TokenCounter,
                                                          text: str) -> None:
    n = exact.count_text("o200k_base", text)
    assert n <= rough_tokens(text) <= 3 * n


def test_rough_count_handles_empty_and_lone_surrogates() -> None:
    assert rough_tokens("") == 0
    assert rough_tokens("\ud800x") >= 1


def test_rough_request_loads_no_encoding() -> None:
    counter = TokenCounter()
    req = ChatRequest(model="gpt-4o-mini", messages=[
        SystemMessage(content="You are terse."), UserMessage(content="hello " * 50)])
    assert counter.rough_request("openai", "gpt-4o-mini", req) > 50
    assert counter._encodings == {}


@pytest.mark.parametrize(("provider", "model"), [("openai", "gpt-4o-mini"),
                                                 ("anthropic", "claude-sonnet-4"),
                                                 ("mistral", "mistral-large")])
def test_plain_fast_path_matches_the_general_walk(provider: str, model: str) -> None:
    counter = TokenCounter()
    req = ChatRequest(model=model, messages=[
        SystemMessage(content="Be brief."), UserMessage(content="Straße 日本 " * 9),
        AssistantMessage(content="ok"), UserMessage(content="again")])
    fast = counter.rough_request(provider, model, req)
    assert fast == counter._count_request(provider, model, req, rough=True).tokens


def test_rough_request_with_tools_and_names_is_high(exact: TokenCounter) -> None:
    tool = Tool(function=FunctionDef(name="lookup", description="Find a city.",
                                     parameters={"type": "object", "properties": {
                                         "city": {"type": "string", "description": "name"}}}))
    req = ChatRequest(model="gpt-4o-mini", tools=[tool], messages=[
        UserMessage(content="Where is the Eiffel tower? " * 10, name="ann")])
    rough = TokenCounter().rough_request("openai", "gpt-4o-mini", req)
    assert rough >= exact.count_request("openai", "gpt-4o-mini", req).tokens


def test_estimator_sizes_a_request_once_per_target() -> None:
    calls: list[str] = []

    class Counting(TokenCounter):
        def rough_request(self, provider: str, model: str, req: ChatRequest) -> int:
            calls.append(model)
            return super().rough_request(provider, model, req)

    est = RequestEstimator(Counting(), PriceCatalog([]))
    req = ChatRequest(model="m", messages=[UserMessage(content="hi there")])
    first = est.input_tokens("r1", "openai", "gpt-4o-mini", req)
    assert est.input_tokens("r1", "openai", "gpt-4o-mini", req) == first
    est.input_tokens("r1", "anthropic", "claude-3", req)
    assert calls == ["gpt-4o-mini", "claude-3"]
