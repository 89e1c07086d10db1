"""Fault specs for the simulated upstreams: parsed from `x-sim-fault` or queued by the control API.

A spec is compact JSON (`{"status":429,"retry_after":2}`) or `k=v;k=v` (`status=429;retry_after=2`).
Queued rules add `times` (None = until cleared) and `model` (None = any model).
"""

from __future__ import annotations

from collections import deque

import msgspec


class FaultSpecError(ValueError):
    """A fault spec that does not parse or names an unknown knob."""


class Fault(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    """What to do to one request. Every knob defaults to "behave normally"."""

    status: int | None = None  # error status with the provider's real error body
    message: str | None = None  # error message override
    error_type: str | None = None  # provider error type / code override
    code: str | None = None  # OpenAI error `code` (e.g. context_length_exceeded)
    retry_after: float | str | None = None  # Retry-After seconds (number) or verbatim (string)
    retry_after_date: float | None = None  # Retry-After as an HTTP-date this many seconds ahead
    retry_after_ms: int | None = None  # retry-after-ms header
    latency_ms: int = 0  # before the response headers
    ttft_ms: int = 0  # before the first stream chunk
    gap_ms: int = 0  # between stream chunks
    cut_after: int | None = None  # close abruptly after N chunks (non-stream: truncated body)
    malformed: bool = False  # 200 with an invalid JSON body (stream: an invalid data line)
    html: bool = False  # an HTML error page with `status` (default 502)
    hang: bool = False  # never respond; wait for the client to go away
    in_band_error: int | None = None  # after N chunks, an error event in the provider's format
    chunks: int | None = None  # number of content chunks in a stream
    tokens: int | None = None  # completion length in tokens (still capped by max_tokens)
    reset: bool = False  # close the connection before any response

    def retry_seconds(self) -> float | None:
        """The advertised wait in seconds, whichever form was asked for (for Gemini's body)."""
        if self.retry_after_ms is not None:
            return self.retry_after_ms / 1000.0
        if isinstance(self.retry_after, int | float):
            return float(self.retry_after)
        return self.retry_after_date


class FaultRule(Fault, kw_only=True):
    """A queued fault: applied to the next `times` requests for `model` (None = any)."""

    times: int | None = 1
    model: str | None = None


_FAULT_DECODER = msgspec.json.Decoder(Fault)
_RULES_DECODER = msgspec.json.Decoder(list[FaultRule] | FaultRule)


def _scalar(raw: str) -> object:
    low = raw.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    if low in ("null", "none"):
        return None
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        return float(raw)
    except ValueError:
        return raw


def parse_fault(spec: str | bytes) -> Fault:
    """Parse a header spec: compact JSON object or `k=v;k=v` (bare `k` means true)."""
    text = spec.decode("latin-1") if isinstance(spec, bytes) else spec
    text = text.strip()
    try:
        if text.startswith("{"):
            return _FAULT_DECODER.decode(text)
        fields: dict[str, object] = {}
        for item in text.split(";"):
            if not item.strip():
                continue
            key, sep, value = item.partition("=")
            fields[key.strip()] = _scalar(value.strip()) if sep else True
        return msgspec.convert(fields, Fault, strict=False)
    except msgspec.MsgspecError as exc:
        raise FaultSpecError(f"invalid fault spec {text!r}: {exc}") from exc


def parse_rules(body: bytes) -> list[FaultRule]:
    """Parse a control-API body: one rule object or a list of them."""
    try:
        decoded = _RULES_DECODER.decode(body)
    except msgspec.MsgspecError as exc:
        raise FaultSpecError(f"invalid fault rules: {exc}") from exc
    rules = decoded if isinstance(decoded, list) else [decoded]
    for rule in rules:
        if rule.times is not None and rule.times < 1:
            raise FaultSpecError("times must be >= 1 (or null for until cleared)")
    return rules


class FaultQueue:
    """FIFO of fault rules; each request takes the first rule matching its model."""

    __slots__ = ("_remaining", "_rules")

    def __init__(self) -> None:
        self._rules: deque[FaultRule] = deque()
        # Remaining uses by rule identity, so the rule objects stay immutable for the ledger.
        self._remaining: dict[int, int | None] = {}

    def push(self, *rules: FaultRule) -> None:
        for rule in rules:
            self._rules.append(rule)
            self._remaining[id(rule)] = rule.times

    def clear(self) -> None:
        self._rules.clear()
        self._remaining.clear()

    def pending(self) -> list[FaultRule]:
        return list(self._rules)

    def __len__(self) -> int:
        return len(self._rules)

    def take(self, model: str | None) -> FaultRule | None:
        """The fault for a request to `model`, consuming one use of it; None when none match."""
        if not self._rules:
            return None
        for rule in self._rules:
            if rule.model is not None and rule.model != model:
                continue
            left = self._remaining[id(rule)]
            if left is not None:
                if left <= 1:
                    self._rules.remove(rule)
                    del self._remaining[id(rule)]
                else:
                    self._remaining[id(rule)] = left - 1
            return rule
        return None
