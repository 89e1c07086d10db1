"""Decoder for streamGenerateContent?alt=sse: each data event is a GenerateContentResponse.

Text parts become content deltas; a functionCall arrives whole, so it becomes one complete
tool-call delta (id, name, full arguments). usageMetadata rides on chunks, the last being final:
it is emitted once, as a usage chunk with no choices, from finish().
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from portico.adapters.base import SSEEvent, Target
from portico.adapters.dialects.gemini import _wire as w
from portico.adapters.dialects.gemini.errors import error_from_status
from portico.adapters.dialects.gemini.response import (
    blocked_reason,
    candidate_index,
    decode_body,
    finish_reason,
    logprobs,
    split_parts,
    usage,
)
from portico.schema.stream import ChatChunk, ChunkChoice, Delta, FunctionDelta, ToolCallDelta


@dataclass(slots=True)
class _CandidateState:
    started: bool = False
    calls: int = 0
    finished: bool = False


class GeminiStreamDecoder:
    def __init__(self, target: Target, created: int) -> None:
        self._target = target
        self._created = created
        self._id: str | None = None
        self._model: str | None = None
        self._usage: w.UsageMetadata | None = None
        self._states: dict[int, _CandidateState] = {}
        self._blocked = False

    @property
    def done(self) -> bool:
        if self._blocked:
            return True
        return bool(self._states) and all(s.finished for s in self._states.values())

    def feed(self, event: SSEEvent) -> Sequence[ChatChunk]:
        data = event.data.strip()
        if not data or data == "[DONE]":
            return ()
        body = decode_body(data)
        if body.error is not None:
            raise error_from_status(body.error, 200)
        if self._id is None:
            self._id = body.response_id or f"chatcmpl-{uuid.uuid4().hex}"
            self._model = body.model_version or self._target.model
        if body.usage_metadata is not None:
            self._usage = body.usage_metadata
        choices = [c for cand in body.candidates if (c := self._choice(cand)) is not None]
        if blocked_reason(body) is not None and not self._blocked:
            self._blocked = True
            choices.append(ChunkChoice(index=0, delta=Delta(role="assistant", content=""),
                                       finish_reason="content_filter"))
        return [self._chunk(choices)] if choices else ()

    def _choice(self, cand: w.Candidate) -> ChunkChoice | None:
        index = candidate_index(cand)
        state = self._states.setdefault(index, _CandidateState())
        text, calls = split_parts(cand.content.parts if cand.content else [], index, state.calls)
        deltas = [
            ToolCallDelta(index=state.calls + n, id=call.id, type="function",
                          function=FunctionDelta(name=call.function.name,
                                                 arguments=call.function.arguments))
            for n, call in enumerate(calls)
        ]
        state.calls += len(calls)
        reason = finish_reason(cand.finish_reason, state.calls > 0)
        if not text and not deltas and reason is None:
            return None
        delta = Delta(content=text or None, tool_calls=deltas or None)
        if not state.started:
            state.started = True
            delta.role = "assistant"
        if reason is not None:
            state.finished = True
        return ChunkChoice(index=index, delta=delta, finish_reason=reason,
                           logprobs=logprobs(cand.logprobs_result))

    def _chunk(self, choices: list[ChunkChoice],
               usage_: w.UsageMetadata | None = None) -> ChatChunk:
        return ChatChunk(
            id=self._id or f"chatcmpl-{uuid.uuid4().hex}",
            created=self._created,
            model=self._model or self._target.model,
            choices=choices,
            usage=usage(usage_) if usage_ is not None else None,
        )

    def finish(self) -> Sequence[ChatChunk]:
        if self._usage is None:
            return ()
        final, self._usage = self._usage, None
        return [self._chunk([], final)]
