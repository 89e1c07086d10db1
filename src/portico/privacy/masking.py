"""Reversible per-request masking: entities become `<TYPE_n>` placeholders, restored on the way out.

The vault lives only in memory for one request; audit sees counts by type, never values.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import msgspec

from portico.privacy.entities import Entity, EntityType
from portico.schema.chat import (
    AssistantMessage,
    AssistantPart,
    ChatRequest,
    DeveloperMessage,
    FunctionMessage,
    Message,
    SystemMessage,
    TextPart,
    ToolCall,
    ToolMessage,
    UserMessage,
    UserPart,
)

PLACEHOLDER = re.compile(r"<[A-Z][A-Z_]*_[1-9][0-9]*>", re.ASCII)


class Detector(Protocol):
    def detect(self, text: str) -> list[Entity]: ...


class Vault:
    """Placeholder <-> original for one request. Same (type, value) -> same placeholder."""

    __slots__ = ("_by_placeholder", "_by_value", "_per_type")

    def __init__(self) -> None:
        self._by_value: dict[tuple[EntityType, str], str] = {}
        self._by_placeholder: dict[str, str] = {}
        self._per_type: Counter[EntityType] = Counter()

    def placeholder_for(self, kind: EntityType, value: str) -> str:
        key = (kind, value)
        placeholder = self._by_value.get(key)
        if placeholder is None:
            self._per_type[kind] += 1
            placeholder = f"<{kind.value}_{self._per_type[kind]}>"
            self._by_value[key] = placeholder
            self._by_placeholder[placeholder] = value
        return placeholder

    def original(self, placeholder: str) -> str | None:
        return self._by_placeholder.get(placeholder)

    @property
    def placeholders(self) -> Sequence[str]:
        return tuple(self._by_placeholder)

    def __len__(self) -> int:
        return len(self._by_placeholder)

    def __repr__(self) -> str:
        return f"Vault({len(self)} placeholders)"  # never the values

    def json_escaped(self) -> Vault:
        """The same placeholders mapped to JSON-string-escaped originals, for restoring values
        inside JSON text (tool-call arguments) without breaking its quoting."""
        out = Vault()
        out._per_type = Counter(self._per_type)
        for (kind, value), placeholder in self._by_value.items():
            escaped = msgspec.json.encode(value).decode()[1:-1]
            out._by_value[(kind, escaped)] = placeholder
            out._by_placeholder[placeholder] = escaped
        return out

    def unmask(self, text: str) -> str:
        """Restore every known placeholder; unknown placeholder-shaped text is left as is."""
        if not self._by_placeholder or "<" not in text:
            return text
        return PLACEHOLDER.sub(lambda m: self._by_placeholder.get(m.group(0), m.group(0)), text)


@dataclass(frozen=True, slots=True)
class MaskResult:
    texts: tuple[str, ...]
    counts: Mapping[EntityType, int]   # occurrences found, by type


class Masker:
    """Masks texts of one request into its vault, accumulating counts by entity type."""

    def __init__(self, detector: Detector, vault: Vault | None = None) -> None:
        self._detector = detector
        self.vault = vault if vault is not None else Vault()
        self._counts: Counter[EntityType] = Counter()

    @property
    def counts(self) -> dict[EntityType, int]:
        return dict(self._counts)

    def mask_text(self, text: str) -> str:
        entities = self._detector.detect(text)
        if not entities:
            return text
        out: list[str] = []
        pos = 0
        for ent in entities:
            out.append(text[pos : ent.start])
            out.append(self.vault.placeholder_for(ent.type, text[ent.start : ent.end]))
            pos = ent.end
            self._counts[ent.type] += 1
        out.append(text[pos:])
        return "".join(out)

    def mask(self, texts: Sequence[str]) -> MaskResult:
        before = Counter(self._counts)
        masked = tuple(self.mask_text(t) for t in texts)
        return MaskResult(masked, dict(self._counts - before))

    def unmask(self, text: str) -> str:
        return self.vault.unmask(text)


def _mask_json_text(masker: Masker, arguments: str) -> str:
    """Mask the string leaves of tool-call arguments, keeping the JSON valid."""
    try:
        tree = msgspec.json.decode(arguments)
    except msgspec.DecodeError:
        return masker.mask_text(arguments)   # models do emit broken JSON; mask it as text
    return msgspec.json.encode(_mask_leaves(masker, tree)).decode()


def _mask_leaves(masker: Masker, node: object) -> object:
    if isinstance(node, str):
        return masker.mask_text(node)
    if isinstance(node, list):
        return [_mask_leaves(masker, item) for item in node]
    if isinstance(node, dict):
        return {key: _mask_leaves(masker, value) for key, value in node.items()}
    return node


def _mask_content(masker: Masker, content: str | list[TextPart]) -> str | list[TextPart]:
    if isinstance(content, str):
        return masker.mask_text(content)
    return [msgspec.structs.replace(p, text=masker.mask_text(p.text)) for p in content]


def _mask_user_part(masker: Masker, part: UserPart) -> UserPart:
    if isinstance(part, TextPart):
        return msgspec.structs.replace(part, text=masker.mask_text(part.text))
    return part   # images, audio and files are left alone


def _mask_assistant_part(masker: Masker, part: AssistantPart) -> AssistantPart:
    if isinstance(part, TextPart):
        return msgspec.structs.replace(part, text=masker.mask_text(part.text))
    return part


def _mask_tool_call(masker: Masker, call: ToolCall) -> ToolCall:
    function = msgspec.structs.replace(
        call.function, arguments=_mask_json_text(masker, call.function.arguments)
    )
    return msgspec.structs.replace(call, function=function)


def _mask_message(masker: Masker, msg: Message) -> Message:
    if isinstance(msg, SystemMessage | DeveloperMessage | ToolMessage):
        return msgspec.structs.replace(msg, content=_mask_content(masker, msg.content))
    if isinstance(msg, UserMessage):
        if isinstance(msg.content, str):
            return msgspec.structs.replace(msg, content=masker.mask_text(msg.content))
        return msgspec.structs.replace(
            msg, content=[_mask_user_part(masker, p) for p in msg.content]
        )
    if isinstance(msg, AssistantMessage):
        # Earlier assistant turns carry values we unmasked on the way out; mask them again.
        said: str | list[AssistantPart] | None = msg.content
        if isinstance(said, str):
            said = masker.mask_text(said)
        elif said is not None:
            said = [_mask_assistant_part(masker, p) for p in said]
        calls = [_mask_tool_call(masker, c) for c in msg.tool_calls] if msg.tool_calls else None
        return msgspec.structs.replace(msg, content=said, tool_calls=calls)
    if isinstance(msg, FunctionMessage):
        if msg.content is None:
            return msg
        return msgspec.structs.replace(msg, content=masker.mask_text(msg.content))
    raise TypeError(f"unknown message type {type(msg).__name__}")


def mask_request(
    req: ChatRequest, detector: Detector, vault: Vault
) -> tuple[ChatRequest, dict[EntityType, int]]:
    """A masked copy of the request (the original is untouched) and counts by entity type."""
    masker = Masker(detector, vault)
    messages = [_mask_message(masker, m) for m in req.messages]
    return msgspec.structs.replace(req, messages=messages), masker.counts


def block_message(counts: Mapping[EntityType, int]) -> str:
    """The client-facing reason for a blocked request: entity types only, never values."""
    kinds = ", ".join(sorted(k.value for k, n in counts.items() if n > 0))
    return (
        f"The request was blocked because it contains personal or secret data ({kinds}). "
        "Remove it and retry, or ask an administrator about this key's PII policy."
    )
