"""Deterministic text, token rule, schema-driven values and embeddings."""

from __future__ import annotations

import json
import math

from portico.simulate import content as c


def test_make_text_is_exact_token_length_and_echoes() -> None:
    text = c.make_text("alpha beta", 10)
    assert len(text) == 40 and c.count_tokens(text) == 10
    assert text.startswith("alpha beta alpha")
    assert c.make_text("", 2) == "simulated reply "[:8]
    assert c.make_text("x", 0) == ""


def test_completion_budget_caps_by_max_tokens() -> None:
    assert c.completion_budget(None, None) == (c.DEFAULT_TOKENS, False)
    assert c.completion_budget(5, None) == (5, True)
    assert c.completion_budget(100, 50) == (50, False)
    assert c.completion_budget(10, 50) == (10, True)


def test_split_text_keeps_all_characters() -> None:
    text = c.make_text("one two three", 32)
    pieces = c.split_text(text, 20)
    assert len(pieces) == 20 and "".join(pieces) == text and all(pieces)
    assert c.split_text("abc", 20) == ["a", "b", "c"]
    assert c.split_text("", 20) == []


def test_prompt_tokens_rule() -> None:
    assert c.prompt_tokens(["abcd", "abcde"]) == (1 + 3) + (2 + 3)


def test_wants_tool_is_a_word_match() -> None:
    assert c.wants_tool("please use a Tool")
    assert c.wants_tool("tools now")
    assert not c.wants_tool("toolbox")


def test_value_for_schema_required_properties() -> None:
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "days": {"type": "integer"},
            "unit": {"type": "string", "enum": ["c", "f"]},
            "opt": {"type": "number"},
            "nested": {"type": "object", "properties": {"x": {"type": "boolean"}},
                       "required": ["x"]},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        },
        "required": ["city", "days", "unit", "nested", "tags"],
    }
    value = c.value_for_schema(schema)
    assert value == {"city": "sim", "days": 1, "unit": "c", "nested": {"x": True}, "tags": ["sim"]}
    assert json.loads(json.dumps(value)) == value
    assert c.value_for_schema({"type": "OBJECT", "properties": {"n": {"type": "NUMBER"}},
                               "required": ["n"]}) == {"n": 1.5}


def test_embedding_deterministic_unit_vector() -> None:
    a = c.embedding("hello", 16, 0)
    assert a == c.embedding("hello", 16, 0)
    assert a != c.embedding("hello", 16, 1)
    assert len(a) == 16
    assert math.isclose(sum(v * v for v in a), 1.0, rel_tol=1e-9)
