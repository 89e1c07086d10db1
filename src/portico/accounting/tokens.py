"""Offline prompt-token counting: exact for OpenAI models, documented estimates for others.

Build one TokenCounter in the app factory. Encodings load lazily (about a second and ~35 MB
each) and are cached on the instance; call `warm()` at start to keep that off the request path.
`rough_request` sizes a request without any encoding, for reservations that settle to usage.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Final

import tiktoken

from portico.accounting._encodings import SPECS, RankReader, build_encoding, read_bundled
from portico.accounting._families import RULES, Family, Resolved, resolve, scale
from portico.accounting._media import audio_tokens, file_tokens, image_tokens
from portico.schema.chat import (
    AssistantMessage,
    AudioPart,
    ChatRequest,
    DeveloperMessage,
    FilePart,
    FunctionDef,
    ImagePart,
    JsonSchemaFormat,
    Message,
    RefusalPart,
    SystemMessage,
    TextPart,
    UserMessage,
    text_of,
)

_MODEL_CACHE_MAX: Final = 4096
_PROMPT_CACHE_MAX: Final = 256
_PROMPT_CACHE_MIN_CHARS: Final = 512   # only long system prompts are worth remembering
# OpenAI cookbook constants for function definitions (gpt-4o family).
_FUNC_INIT, _PROP_INIT, _PROP_KEY, _ENUM_INIT, _ENUM_ITEM, _FUNC_END = 7, 3, 3, -3, 3, 12
_TOOL_CALL_OVERHEAD: Final = 3
# BPE vocabularies average ~4 ASCII characters per token on prose (o200k_base ~4.2, code ~3.5);
# 3 keeps the rough count above the exact one for nearly all real text.
_ROUGH_CHARS_PER_TOKEN: Final = 3


def rough_tokens(text: str) -> int:
    """An encoding-free, usually-high token count: ceil(chars / 3), plus one token per two
    extra UTF-8 bytes, so CJK text (3 bytes a character) counts ~1.3 tokens a character."""
    n = len(text)
    if text.isascii():
        return -(-n // _ROUGH_CHARS_PER_TOKEN)
    wide = len(text.encode("utf-8", "surrogatepass")) - n
    return -(-n // _ROUGH_CHARS_PER_TOKEN) + wide // 2


@dataclass(frozen=True, slots=True)
class TokenEstimate:
    """Prompt tokens of a request; `exact` only when the count follows OpenAI's own formula
    for plain text messages of a known OpenAI model."""

    tokens: int
    exact: bool
    method: str   # e.g. "o200k_base", "anthropic~o200k_base*125%"


class TokenCounter:
    """Counts tokens without network or tiktoken's cache directory."""

    def __init__(self, read: RankReader = read_bundled) -> None:
        self._read = read
        self._lock = threading.Lock()
        self._encodings: dict[str, tiktoken.Encoding] = {}
        self._models: dict[tuple[str, str], Resolved] = {}
        self._prompts: OrderedDict[tuple[str, str], int] = OrderedDict()

    def warm(self, names: tuple[str, ...] = tuple(SPECS)) -> None:
        for name in names:
            self.encoding(name)

    def encoding(self, name: str) -> tiktoken.Encoding:
        enc = self._encodings.get(name)
        if enc is None:
            with self._lock:
                enc = self._encodings.get(name)
                if enc is None:
                    enc = build_encoding(name, self._read)
                    self._encodings[name] = enc
        return enc

    def resolve(self, provider: str, model: str) -> Resolved:
        key = (provider, model)
        found = self._models.get(key)
        if found is None:
            found = resolve(provider, model)
            if len(self._models) < _MODEL_CACHE_MAX:
                self._models[key] = found
        return found

    def _raw(self, encoding: str, text: str) -> int:
        # encode_ordinary: "<|endoftext|>" typed by a user is text, not a control token.
        return len(self.encoding(encoding).encode_ordinary(text)) if text else 0

    def _cached_raw(self, encoding: str, text: str) -> int:
        if len(text) < _PROMPT_CACHE_MIN_CHARS:
            return self._raw(encoding, text)
        key = (encoding, text)
        n = self._prompts.get(key)
        if n is None:
            n = self._raw(encoding, text)
            self._prompts[key] = n
            if len(self._prompts) > _PROMPT_CACHE_MAX:
                self._prompts.popitem(last=False)
        return n

    def count_text(self, model_family_or_model: str, text: str) -> int:
        """Tokens of `text` for an encoding name, a family name or a model name."""
        if model_family_or_model in SPECS:
            return self._raw(model_family_or_model, text)
        try:
            family = Family(model_family_or_model)
        except ValueError:
            r = self.resolve("", model_family_or_model)
            return scale(self._raw(r.encoding, text), r.family)
        return scale(self._raw("o200k_base", text), family)

    def count_request(self, provider: str, model: str, req: ChatRequest) -> TokenEstimate:
        """Prompt tokens `req` will cost on `provider`'s `model`."""
        return self._count_request(provider, model, req, rough=False)

    def rough_request(self, provider: str, model: str, req: ChatRequest) -> int:
        """Prompt tokens from character counts (`rough_tokens`) with the same message, tool
        and media overheads as `count_request`: no encoding is loaded or run. For
        reservations, which settle to the provider's reported usage; never for spend."""
        r = self.resolve(provider, model)
        rule = RULES[r.family]
        if req.tools or req.functions or req.response_format is not None:
            return self._count_request(provider, model, req, rough=True).tokens
        text = 0
        for msg in req.messages:
            content = msg.content
            # Plain text messages (nearly all traffic) skip the general walk; a role is 1 token.
            if type(content) is not str or getattr(msg, "name", None) \
                    or getattr(msg, "tool_calls", None) or getattr(msg, "function_call", None):
                return self._count_request(provider, model, req, rough=True).tokens
            text += rough_tokens(content) + 1
        return scale(text, r.family) + len(req.messages) * rule.per_message + rule.reply_priming

    def _count_request(self, provider: str, model: str, req: ChatRequest, *,
                       rough: bool) -> TokenEstimate:
        r = self.resolve(provider, model)
        rule = RULES[r.family]
        state = _Tally(self, r, model, rough=rough)
        for msg in req.messages:
            state.message(msg)
        tools = [t.function for t in req.tools or ()] + list(req.functions or ())
        if tools:
            state.tools(tools)
            state.extra += rule.tools_preamble
        if isinstance(req.response_format, JsonSchemaFormat):
            state.approx = True
            state.text += state.count(json.dumps(req.response_format.json_schema.schema))
        base = scale(state.text, r.family)
        total = base + state.extra + len(req.messages) * rule.per_message + rule.reply_priming
        exact = r.exact and not state.approx and not rough
        if rough:
            return TokenEstimate(tokens=total, exact=False, method="rough")
        method = r.encoding if r.family is Family.OPENAI else (
            f"{r.family.value}~{r.encoding}*{rule.factor_pct}%")
        return TokenEstimate(tokens=total, exact=exact, method=method)


class _Tally:
    """Accumulates one request's counts: `text` is scaled by the family factor, `extra` not."""

    def __init__(self, counter: TokenCounter, r: Resolved, model: str, *, rough: bool) -> None:
        self.counter, self.r, self.model = counter, r, model
        self.rough = rough
        self.text = 0
        self.extra = 0
        self.approx = False

    def count(self, s: str) -> int:
        return rough_tokens(s) if self.rough else self.counter._raw(self.r.encoding, s)

    def _long(self, s: str) -> int:
        return rough_tokens(s) if self.rough else self.counter._cached_raw(self.r.encoding, s)

    def message(self, msg: Message) -> None:
        rule = RULES[self.r.family]
        role = type(msg).__struct_config__.tag
        self.text += 1 if self.rough else self.count(str(role))   # a role is one token
        name = getattr(msg, "name", None)
        if name:
            self.text += self.count(name)
            self.extra += rule.per_name
        if isinstance(msg, SystemMessage | DeveloperMessage):
            self.text += self._long(text_of(msg.content))
        elif isinstance(msg, UserMessage) and not isinstance(msg.content, str):
            for part in msg.content:
                self.part(part)
        elif isinstance(msg, AssistantMessage):
            self.assistant(msg)
        else:
            self.text += self.count(text_of(msg.content))

    def part(self, part: TextPart | ImagePart | AudioPart | FilePart) -> None:
        if isinstance(part, TextPart):
            self.text += self.count(part.text)
            return
        self.approx = True
        if isinstance(part, ImagePart):
            self.extra += image_tokens(self.r.family, self.model, part.image_url.url,
                                       part.image_url.detail)
        elif isinstance(part, AudioPart):
            self.extra += audio_tokens(len(part.input_audio.data))
        else:
            self.extra += file_tokens(len(part.file.file_data or ""))

    def assistant(self, msg: AssistantMessage) -> None:
        if isinstance(msg.content, list):
            for p in msg.content:
                self.text += self.count(p.refusal if isinstance(p, RefusalPart) else p.text)
        elif msg.content:
            self.text += self.count(msg.content)
        calls = [c.function for c in msg.tool_calls or ()]
        if msg.function_call is not None:
            calls.append(msg.function_call)
        for call in calls:
            self.approx = True
            self.text += self.count(call.name) + self.count(call.arguments)
            self.extra += _TOOL_CALL_OVERHEAD

    def tools(self, defs: list[FunctionDef]) -> None:
        """OpenAI cookbook's function-definition estimate; nested schemas counted as JSON."""
        self.approx = True
        self.extra += _FUNC_END
        for f in defs:
            self.extra += _FUNC_INIT
            self.text += self.count(f"{f.name}:{(f.description or '').removesuffix('.')}")
            props = (f.parameters or {}).get("properties")
            if not isinstance(props, dict) or not props:
                continue
            self.extra += _PROP_INIT
            for key, schema in props.items():
                self.property(str(key), schema)

    def property(self, key: str, schema: object) -> None:
        self.extra += _PROP_KEY
        if not isinstance(schema, dict):
            self.text += self.count(key)
            return
        enum_values = schema.get("enum")
        if isinstance(enum_values, list):
            self.extra += _ENUM_INIT
            for item in enum_values:
                self.extra += _ENUM_ITEM
                self.text += self.count(str(item))
        kind = schema.get("type", "")
        desc = str(schema.get("description", "")).removesuffix(".")
        self.text += self.count(f"{key}:{kind}:{desc}")
        nested = {k: v for k, v in schema.items() if k in ("properties", "items", "anyOf")}
        if nested:
            self.text += self.count(json.dumps(nested, separators=(",", ":")))
