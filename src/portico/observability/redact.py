"""Redaction for logs and client-facing messages: key shapes, credential headers, known secret
values (plain, URL-encoded, base64), stack traces, and optionally PII patterns."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from urllib.parse import quote

REDACTED = "[redacted]"
# Literal secrets shorter than this are not registered: they would redact ordinary words.
MIN_SECRET_LEN = 8

# Shapes of API keys and tokens of every vendor we know, plus our own virtual keys (sk-pt-).
KEY_SHAPES: tuple[re.Pattern[str], ...] = (
    re.compile(r"(?<![\w-])sk-[A-Za-z0-9_\-]{8,}"),                # OpenAI, Anthropic, ours
    re.compile(r"(?<![\w-])AIza[0-9A-Za-z_\-]{20,}"),              # Google
    re.compile(r"(?<![\w])(?:gsk|pk|rk|sk|xai|fw|nvapi|hf)_[A-Za-z0-9_\-]{8,}"),
    re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Za-z0-9])"),
    re.compile(r"(?<![\w])gh[pousr]_[A-Za-z0-9]{20,}"),
    re.compile(r"(?<![\w-])xox[abposre]-[0-9A-Za-z\-]{10,}"),
    re.compile(r"(?<![\w-])eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{4,}"),
    re.compile(r"(?i)\b(?:bearer|basic)\s+[A-Za-z0-9._~+/=\-]{6,}"),
)
# `Authorization: ...`, `"x-api-key": "..."`, `cookie=...` in any quoting: keep the name only.
CREDENTIAL_HEADERS = re.compile(
    r"(?i)([\"']?\b(?:proxy-authorization|authorization|set-cookie|cookie|x-api-key|api-key"
    r"|x-goog-api-key|api_key|apikey|x-portico-key|password|secret)[\"']?\s*[:=]\s*)"
    r"(?!\[redacted\])(?:([\"'])[^\"'\r\n]*[\"']|[^\s,;}\]\"']+(?:[ \t]+[^\s,;}\]\"']+)?)"
)
# Cookie headers hold several `name=value;` pairs: mask to the end of the line or quote.
COOKIES = re.compile(
    r"(?i)(\b(?:set-)?cookie[\"']?\s*[:=]\s*)(?!\[redacted\])"
    r"(?:([\"'])[^\"'\r\n]*[\"']|[^\s\"'][^\r\n\"']*)"
)
# Credentials in URL query strings (`?key=AIza...` is how Gemini takes keys).
QUERY_CREDENTIALS = re.compile(
    r"(?i)([?&](?:key|api[_-]?key|access_token|token|auth|signature|sig)=)(?!\[redacted\])[^&\s\"'#]+"
)
STACK_TRACE = re.compile(
    r"Traceback \(most recent call last\)|\bFile \"[^\"]+\", line \d+|"
    r"\bat [\w.$<>]+\([\w.]+\.(?:java|kt|scala|cs|go|js|ts):\d+\)|"
    r"\bgoroutine \d+ \[|panic: |\bat [\w.]+ \(/[^)]+:\d+:\d+\)"
)
HTML = re.compile(r"(?i)<!doctype|<html|<body|<head|<script")
# PII shapes for logs when pii.mode masks or blocks (model-free, deliberately broad).
PII_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?<![\w.+%-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"),
     "[email]"),
    (re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)"), "[number]"),
    (re.compile(r"(?<!\d)\d{3}-\d{2}-\d{4}(?!\d)"), "[ssn]"),
    (re.compile(r"(?<![\w+])\+?\(?\d{1,4}\)?[ .-]?\(?\d{2,4}\)?[ .-]\d{3,4}[ .-]?\d{3,4}(?!\d)"),
     "[phone]"),
)


def _credential_sub(m: re.Match[str]) -> str:
    quote_char = m.group(2) or ""
    return m.group(1) + quote_char + REDACTED + quote_char


def scrub_keys(text: str) -> str:
    """Key shapes only: safe on serialized JSON (no shape holds a quote or backslash)."""
    for pattern in KEY_SHAPES:
        text = pattern.sub(REDACTED, text)
    return text


def scrub_shapes(text: str) -> str:
    """Mask key shapes, credential headers and credential query parameters."""
    text = COOKIES.sub(_credential_sub, text)
    text = CREDENTIAL_HEADERS.sub(_credential_sub, text)
    text = QUERY_CREDENTIALS.sub(lambda m: m.group(1) + REDACTED, text)
    return scrub_keys(text)


def scrub_pii(text: str) -> str:
    for pattern, label in PII_PATTERNS:
        text = pattern.sub(label, text)
    return text


def looks_like_stack_trace(text: str) -> bool:
    return STACK_TRACE.search(text) is not None


def looks_like_html(text: str) -> bool:
    return HTML.search(text) is not None


def secret_forms(value: str) -> list[str]:
    """A secret as it may appear in text: plain, URL-encoded and base64 (with and without
    padding, and base64 of the common `user:secret` / `Bearer secret` wrappings' tails)."""
    forms = {value, quote(value, safe=""), quote(value, safe="/:")}
    raw = value.encode()
    for blob in (raw, b":" + raw, b"Bearer " + raw):
        encoded = base64.b64encode(blob).decode()
        forms.update({encoded, encoded.rstrip("="), base64.urlsafe_b64encode(blob).decode()})
    # Base64 of the secret inside a longer blob: the stable middle part at each alignment.
    for shift in range(3):
        chunk = base64.b64encode(b"\0" * shift + raw).decode()
        # Only whole 4-char groups made of secret bytes alone are stable in any blob.
        middle = chunk[4 if shift else 0: 4 * ((shift + len(raw)) // 3)]
        if len(middle) >= 12:
            forms.add(middle)
    return sorted((f for f in forms if len(f) >= MIN_SECRET_LEN), key=len, reverse=True)


class Redactor:
    """Masks registered secret values and every known key shape; PII too when asked."""

    def __init__(self, secrets: Iterable[str] = (), *, pii: bool = False) -> None:
        self.pii = pii
        self._forms: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        for value in secrets:
            self.add_secret(value)

    def add_secret(self, value: str) -> None:
        if len(value) < MIN_SECRET_LEN:
            return
        self._forms.update(secret_forms(value))
        alternatives = sorted(self._forms, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(f) for f in alternatives))

    def scrub_secrets(self, text: str) -> str:
        """Registered secrets and key shapes only (for client-facing messages)."""
        if self._pattern is not None:
            text = self._pattern.sub(REDACTED, text)
        return scrub_shapes(text)

    def scrub_serialized(self, text: str) -> str:
        """A last pass over an encoded line: literal secrets and key shapes (JSON-safe)."""
        if self._pattern is not None:
            text = self._pattern.sub(REDACTED, text)
        return scrub_keys(text)

    def scrub(self, text: str) -> str:
        """Everything, PII patterns included when enabled (for logs)."""
        text = self.scrub_secrets(text)
        return scrub_pii(text) if self.pii else text


def client_safe_message(message: str, limit: int = 400) -> str:
    """An upstream message made safe for a client: no keys, credential headers, markup or
    stack traces; whitespace folded and length capped."""
    if looks_like_html(message):
        return "the upstream returned an HTML page instead of an API response"
    if looks_like_stack_trace(message):
        return "the upstream reported an internal error (details withheld)"
    text = " ".join(scrub_shapes(message).split())
    return text[:limit] + ("…" if len(text) > limit else "")
