"""Restoring masked values on the way out: whole responses, and streams chunk by chunk.

Tool-call arguments are JSON text, so values restored inside them are JSON-escaped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import msgspec

from portico.privacy.masking import Vault
from portico.privacy.stream_unmask import StreamUnmasker
from portico.schema.chat import ToolCall
from portico.schema.response import ChatResponse, Choice
from portico.schema.stream import ChatChunk, ChunkChoice, Delta, FunctionDelta, ToolCallDelta


def _unmask_call(call: ToolCall, args_vault: Vault) -> ToolCall:
    function = msgspec.structs.replace(
        call.function, arguments=args_vault.unmask(call.function.arguments))
    return msgspec.structs.replace(call, function=function)


def _unmask_choice(choice: Choice, vault: Vault, args_vault: Vault) -> Choice:
    msg = choice.message
    calls = msg.tool_calls
    if not isinstance(calls, msgspec.UnsetType):
        calls = [_unmask_call(c, args_vault) for c in calls]
    message = msgspec.structs.replace(
        msg,
        content=vault.unmask(msg.content) if msg.content else msg.content,
        refusal=vault.unmask(msg.refusal) if msg.refusal else msg.refusal,
        tool_calls=calls,
    )
    return msgspec.structs.replace(choice, message=message)


def unmask_response(resp: ChatResponse, vault: Vault) -> ChatResponse:
    """The response with every placeholder of `vault` restored (content, refusal, tools)."""
    if not len(vault):
        return resp
    args_vault = vault.json_escaped()
    return msgspec.structs.replace(
        resp, choices=[_unmask_choice(c, vault, args_vault) for c in resp.choices])


class UnmaskFilter:
    """A chunk filter restoring placeholders split anywhere across a stream's deltas.

    One `StreamUnmasker` per choice and field (and per tool call for arguments). A choice's
    held-back text is released with its `finish_reason`; `flush` emits any left at the end.
    `record`, when given, receives each content delta as the upstream sent it (for capture).
    """

    def __init__(self, vault: Vault, record: Callable[[str], None] | None = None) -> None:
        self._vault = vault
        self._args_vault: Vault | None = None
        self._record = record
        self._texts: dict[tuple[int, str], StreamUnmasker] = {}
        self._args: dict[tuple[int, int], StreamUnmasker] = {}
        self._template: ChatChunk | None = None

    def _unmasker(self, key: tuple[int, str]) -> StreamUnmasker:
        found = self._texts.get(key)
        if found is None:
            found = self._texts[key] = StreamUnmasker(self._vault)
        return found

    def _args_unmasker(self, key: tuple[int, int]) -> StreamUnmasker:
        found = self._args.get(key)
        if found is None:
            if self._args_vault is None:
                self._args_vault = self._vault.json_escaped()
            found = self._args[key] = StreamUnmasker(self._args_vault)
        return found

    def _text(self, index: int, field: str, value: str | None, finish: bool) -> str | None:
        if value is None and not (finish and (index, field) in self._texts):
            return None
        unmasker = self._unmasker((index, field))
        out = unmasker.feed(value or "")
        if finish:
            out += unmasker.flush()
        return out if out or value == "" else None

    def _calls(self, index: int, calls: list[ToolCallDelta] | None,
               finish: bool) -> list[ToolCallDelta] | None:
        out: list[ToolCallDelta] = []
        for call in calls or ():
            fn = call.function
            if fn is not None and fn.arguments:
                restored = self._args_unmasker((index, call.index)).feed(fn.arguments)
                out.append(msgspec.structs.replace(
                    call, function=msgspec.structs.replace(fn, arguments=restored)))
            else:
                out.append(call)
        if finish:
            for (choice, call_index), unmasker in self._args.items():
                rest = unmasker.flush()
                if choice == index and rest:
                    out.append(ToolCallDelta(index=call_index,
                                             function=FunctionDelta(arguments=rest)))
        return out or None

    def _choice(self, choice: ChunkChoice) -> ChunkChoice | None:
        d = choice.delta
        if self._record is not None and d.content:
            self._record(d.content)
        finish = choice.finish_reason is not None
        content = self._text(choice.index, "content", d.content, finish)
        refusal = self._text(choice.index, "refusal", d.refusal, finish)
        calls = self._calls(choice.index, d.tool_calls, finish)
        if (content is None and refusal is None and calls is None and d.role is None
                and not finish and choice.logprobs is None):
            return None   # all of it is held back: a partial placeholder
        delta = Delta(role=d.role, content=content, refusal=refusal, tool_calls=calls)
        return msgspec.structs.replace(choice, delta=delta)

    def feed(self, chunk: ChatChunk) -> Sequence[ChatChunk]:
        self._template = chunk
        if not chunk.choices:
            return [chunk]
        choices = [c for c in map(self._choice, chunk.choices) if c is not None]
        if not choices:
            return []
        return [msgspec.structs.replace(chunk, choices=choices)]

    def flush(self) -> Sequence[ChatChunk]:
        """Whatever is still held when the stream ends without a finish_reason."""
        choices: list[ChunkChoice] = []
        for (index, field), unmasker in self._texts.items():
            rest = unmasker.flush()
            if rest:
                delta = Delta(content=rest) if field == "content" else Delta(refusal=rest)
                choices.append(ChunkChoice(index=index, delta=delta))
        for (index, call_index), unmasker in self._args.items():
            rest = unmasker.flush()
            if rest:
                call = ToolCallDelta(index=call_index, function=FunctionDelta(arguments=rest))
                choices.append(ChunkChoice(index=index, delta=Delta(tool_calls=[call])))
        if not choices or self._template is None:
            return []
        return [msgspec.structs.replace(self._template, choices=choices, usage=None)]
