"""The leak scanner: finds unmasked PII, provider-key shapes and echoed system prompts in stored
audit events, captured content and the gateway's own log files.

Findings carry a type, a reference (event seq or file:line) and a short masked preview, never
the value. CPU-bound and synchronous: callers run it in a worker thread.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

import msgspec

from portico.privacy.capture import is_content_event, read_content
from portico.privacy.entities import EntityType
from portico.privacy.masking import PLACEHOLDER, Detector
from portico.store.records import StoredAuditEvent

FindingKind = Literal["pii", "secret", "echo"]
# Provider and platform credential shapes. Case matters for every prefix (no IGNORECASE).
KEY_SHAPES: Final[tuple[tuple[str, re.Pattern[str]], ...]] = (
    ("anthropic_key", re.compile(r"(?<![\w-])sk-ant-[A-Za-z0-9_-]{20,}", re.ASCII)),
    ("openai_style_key", re.compile(r"(?<![\w-])sk-(?!ant-)[A-Za-z0-9_-]{16,}", re.ASCII)),
    ("aws_access_key", re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Z0-9])",
                                  re.ASCII)),
    ("google_api_key", re.compile(r"(?<![\w-])AIza[0-9A-Za-z_-]{35}(?![\w-])", re.ASCII)),
    ("github_token", re.compile(r"(?<!\w)(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_\w{50,})",
                                re.ASCII)),
    ("slack_token", re.compile(r"(?<![\w-])xox[abposre]-[0-9A-Za-z-]{10,}", re.ASCII)),
    ("stripe_key", re.compile(r"(?<!\w)[sr]k_(?:live|test)_[0-9A-Za-z]{16,}", re.ASCII)),
    ("bearer_jwt", re.compile(r"(?<![\w-])eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}", re.ASCII)),
    ("private_key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----", re.ASCII)),
)
_WORD: Final = re.compile(r"\w+")
MAX_FINDINGS: Final = 1000   # references kept in the report; counts are always complete


class Finding(msgspec.Struct, kw_only=True):
    kind: FindingKind
    type: str            # entity type, key shape, or SYSTEM_PROMPT_ECHO
    ref: str             # "audit seq 12 (req_…) messages[1].text" or "app.log:88"
    preview: str         # a few characters and the length, never the value


class ScanReport(msgspec.Struct, kw_only=True):
    generated_at_ms: int
    since_ms: int | None
    use_model: bool
    events_scanned: int
    content_events: int
    files_scanned: list[str]
    lines_scanned: int
    counts: dict[str, int]           # "kind:type" -> occurrences
    findings: list[Finding]
    findings_truncated: int = 0      # occurrences beyond MAX_FINDINGS (counted, not listed)
    notes: list[str] = []

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def preview(value: str) -> str:
    """At most three leading characters and the length: enough to find it, not to use it."""
    keep = min(3, len(value) // 4)
    return f"{value[:keep]}…[{len(value)} chars]"


def _ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    words = [w.lower() for w in _WORD.findall(PLACEHOLDER.sub(" ", text))]
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


@dataclass(slots=True)
class _Prompt:
    ref: str
    grams: set[tuple[str, ...]]


@dataclass(slots=True)
class EchoIndex:
    """Captured system prompts as word n-grams; a text echoes one when it shares at least
    `ratio` of the prompt's n-grams (and at least `min_shared`)."""

    n: int = 6
    ratio: float = 0.25
    min_shared: int = 2
    prompts: list[_Prompt] = field(default_factory=list)
    _index: dict[tuple[str, ...], list[int]] = field(default_factory=dict)

    def add(self, ref: str, text: str) -> None:
        grams = _ngrams(text, self.n)
        if len(grams) < self.min_shared:
            return   # too short to tell an echo from a common phrase
        self.prompts.append(_Prompt(ref, grams))
        for g in grams:
            self._index.setdefault(g, []).append(len(self.prompts) - 1)

    def echoes(self, text: str) -> Iterator[tuple[_Prompt, float]]:
        if not self.prompts:
            return
        shared: Counter[int] = Counter()
        for g in _ngrams(text, self.n):
            for i in self._index.get(g, ()):
                shared[i] += 1
        for i, count in shared.items():
            prompt = self.prompts[i]
            share = count / len(prompt.grams)
            if count >= self.min_shared and share >= self.ratio:
                yield prompt, share


def _leaves(node: object, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _leaves(item, f"{path}[{i}]")
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, f"{path}.{key}" if path else str(key))


class LeakScanner:
    def __init__(self, detector: Detector, *, use_model: bool = False,
                 echo: EchoIndex | None = None) -> None:
        self._detector = detector
        self._use_model = use_model
        self._echo = echo or EchoIndex()
        self._counts: Counter[str] = Counter()
        self._findings: list[Finding] = []
        self._truncated = 0
        self._events = 0
        self._content_events = 0
        self._files: list[str] = []
        self._lines = 0
        self._notes: list[str] = []

    def _add(self, kind: FindingKind, type_: str, ref: str, shown: str) -> None:
        self._counts[f"{kind}:{type_}"] += 1
        if len(self._findings) < MAX_FINDINGS:
            self._findings.append(Finding(kind=kind, type=type_, ref=ref, preview=shown))
        else:
            self._truncated += 1

    def scan_text(self, text: str, ref: str, *, echo: bool = True) -> None:
        for name, pattern in KEY_SHAPES:
            for m in pattern.finditer(text):
                self._add("secret", name, ref, preview(m.group(0)))
        for ent in self._detector.detect(text):
            if ent.type is not EntityType.SECRET:   # key shapes above name them better
                self._add("pii", ent.type.value, ref, preview(text[ent.start:ent.end]))
        if echo:
            for prompt, share in self._echo.echoes(text):
                self._add("echo", "SYSTEM_PROMPT_ECHO", ref,
                          f"{share:.0%} of the system prompt at {prompt.ref}")

    def scan_events(self, events: Sequence[StoredAuditEvent]) -> None:
        """Every string in every event; captured system prompts are indexed first so that
        responses anywhere (and log lines scanned later) are checked against all of them."""
        for stored in events:
            for path, role, text in _captured_messages(stored):
                if role in ("system", "developer"):
                    self._echo.add(f"audit seq {stored.seq} {path}", text)
        for stored in events:
            self._events += 1
            e = stored.event
            head = f"audit seq {stored.seq} ({e.event_id})"
            self._content_events += is_content_event(e)
            for path, text in _leaves(msgspec.to_builtins(e.detail), "detail"):
                # A prompt echoes itself; only responses and other fields are echo checked.
                self.scan_text(text, f"{head} {path}", echo=not _is_prompt(stored, path))
            for label, value in (("actor", e.actor), ("target", e.target or "")):
                if value:
                    self.scan_text(value, f"{head} {label}", echo=False)

    def scan_file(self, path: Path, label: str | None = None) -> None:
        name = label or str(path)
        self._files.append(name)
        with path.open(encoding="utf-8", errors="replace") as fh:
            for number, line in enumerate(fh, 1):
                self._lines += 1
                self.scan_text(line.rstrip("\n"), f"{name}:{number}")

    def note(self, text: str) -> None:
        self._notes.append(text)

    def report(self, *, now_ms: int, since_ms: int | None) -> ScanReport:
        return ScanReport(
            generated_at_ms=now_ms, since_ms=since_ms, use_model=self._use_model,
            events_scanned=self._events, content_events=self._content_events,
            files_scanned=list(self._files), lines_scanned=self._lines,
            counts=dict(sorted(self._counts.items())), findings=list(self._findings),
            findings_truncated=self._truncated, notes=list(self._notes),
        )


def _captured_messages(stored: StoredAuditEvent) -> Iterator[tuple[str, str, str]]:
    """(path, role, text) of each message a content-capture event holds."""
    content = read_content(stored.event)
    for i, msg in enumerate(content.messages if content is not None else ()):
        yield f"detail.messages[{i}].text", msg.role, msg.text


def _is_prompt(stored: StoredAuditEvent, path: str) -> bool:
    return any(p == path and role in ("system", "developer")
               for p, role, _ in _captured_messages(stored))


def log_files(patterns: Iterable[str], since_ms: int | None) -> tuple[list[Path], list[str]]:
    """The files named (globs allowed) and modified since `since_ms`; notes on missing ones."""
    found: list[Path] = []
    notes: list[str] = []
    for pattern in patterns:
        p = Path(pattern).expanduser()
        matches = sorted(p.parent.glob(p.name)) if any(c in p.name for c in "*?[") else [p]
        if not matches or not all(m.is_file() for m in matches):
            notes.append(f"log file {pattern} not found")
        for m in matches:
            if m.is_file() and (since_ms is None or m.stat().st_mtime * 1000 >= since_ms):
                found.append(m)
    return found, notes
