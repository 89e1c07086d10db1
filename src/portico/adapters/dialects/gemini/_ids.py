"""Tool-call ids for Gemini function calls, carrying the call's thought signature.

Gemini usually omits function-call ids, so ids are synthesised from the candidate and call
position (stable across stream and non-stream). Gemini 3 must get a call's `thoughtSignature`
back on the next turn, and OpenAI's schema has no field for it, so it rides in the id the
client echoes: `<id>__thought__<signature as URL-safe base64, unpadded>`; the id stays within
[A-Za-z0-9_-] so other providers accept it after a failover.
"""

from __future__ import annotations

SEPARATOR = "__thought__"


def tool_call_id(base: str | None, candidate: int, n: int, signature: str | None) -> str:
    """The canonical id for the n-th function call of a candidate."""
    ident = base or f"call_{candidate}_{n}"
    if not signature:
        return ident
    safe = signature.replace("+", "-").replace("/", "_").rstrip("=")
    return f"{ident}{SEPARATOR}{safe}"


def split_tool_call_id(call_id: str) -> tuple[str, str | None]:
    """(id, signature in standard base64) from a canonical id; signature None if absent."""
    ident, sep, safe = call_id.partition(SEPARATOR)
    if not sep or not safe:
        return call_id, None
    std = safe.replace("-", "+").replace("_", "/")
    return ident, std + "=" * (-len(std) % 4)
