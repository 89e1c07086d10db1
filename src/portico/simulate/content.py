"""Deterministic fake completions, token counts, schema-driven JSON and embedding vectors.

Token rule (the same for stream and non-stream): tokens(text) = ceil(len(text) / 4), and a
prompt costs tokens(text of each message) + 3 per message. A completion of T tokens is exactly
4*T characters echoing the last user message's words.
"""

from __future__ import annotations

import hashlib
import math
import re
import struct
from collections.abc import Mapping, Sequence

DEFAULT_TOKENS = 32
DEFAULT_CHUNKS = 20
DEFAULT_DIMS = 8
PER_MESSAGE_TOKENS = 3
_FILLER = ("simulated", "reply", "from", "portico")
_TOOL_WORD = re.compile(r"\btools?\b", re.IGNORECASE)


def count_tokens(text: str) -> int:
    return (len(text) + 3) // 4


def prompt_tokens(texts: Sequence[str]) -> int:
    """Tokens of a prompt given the text of each message."""
    return sum(count_tokens(t) + PER_MESSAGE_TOKENS for t in texts)


def wants_tool(last_user_text: str, *, after_tool_result: bool = False) -> bool:
    """Whether an "auto" tool choice should call a tool: the user said the word "tool" in the
    latest turn. Like a real model, a turn that just returned a tool result gets an answer."""
    return not after_tool_result and _TOOL_WORD.search(last_user_text) is not None


def wants_json(instructions: str) -> bool:
    """Whether the instructions ask for JSON (emulates a model following a JSON instruction)."""
    return "JSON" in instructions


def completion_budget(max_tokens: int | None, asked: int | None) -> tuple[int, bool]:
    """(tokens to produce, truncated by max_tokens)."""
    want = asked if asked is not None else DEFAULT_TOKENS
    if max_tokens is not None and max_tokens < want:
        return max(max_tokens, 0), True
    return want, False


def make_text(prompt: str, tokens: int) -> str:
    """Exactly 4*tokens characters cycling through the prompt's words (filler if none)."""
    size = 4 * tokens
    if size <= 0:
        return ""
    words = prompt.split() or list(_FILLER)
    unit = " ".join(words) + " "
    reps = size // len(unit) + 1
    return (unit * reps)[:size]


def split_text(text: str, n: int) -> list[str]:
    """Up to n non-empty pieces of nearly equal length (fewer when the text is shorter)."""
    n = max(1, min(n, len(text)))
    size = len(text)
    return [text[i * size // n : (i + 1) * size // n] for i in range(n)] if text else []


def value_for_schema(schema: object, depth: int = 0) -> object:
    """A value satisfying a simple JSON schema: objects carry their required properties.

    Types are matched case-insensitively so Gemini's OpenAPI-style "STRING"/"OBJECT" work too.
    """
    if not isinstance(schema, Mapping) or depth > 8:
        return "sim"
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    kind = str(kind).lower() if kind is not None else ("object" if "properties" in schema else "")
    if kind == "object":
        props = schema.get("properties")
        props = props if isinstance(props, Mapping) else {}
        required = schema.get("required")
        names = required if isinstance(required, list) else []
        return {str(n): value_for_schema(props.get(n), depth + 1) for n in names}
    if kind == "array":
        min_items = schema.get("minItems")
        count = min_items if isinstance(min_items, int) else 0
        return [value_for_schema(schema.get("items"), depth + 1) for _ in range(count)]
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return "sim"


def embedding(text: str, dims: int, seed: int) -> list[float]:
    """A deterministic unit vector of `dims` floats for `text` (same text, same vector)."""
    raw = hashlib.shake_256(f"{seed}\x00{text}".encode()).digest(2 * dims)
    ints = struct.unpack(f"<{dims}H", raw)
    values = [(i / 32767.5) - 1.0 for i in ints]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


def embedding_base64(vector: Sequence[float]) -> bytes:
    """Little-endian float32 bytes, as OpenAI's base64 encoding_format carries them."""
    return struct.pack(f"<{len(vector)}f", *vector)
