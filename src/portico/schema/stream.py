"""Canonical streaming chunks (OpenAI's CreateChatCompletionStreamResponse)."""

from __future__ import annotations

from typing import Literal

import msgspec

from portico.schema.response import ChoiceLogprobs, FinishReason, Usage


class FunctionDelta(msgspec.Struct, omit_defaults=True):
    name: str | None = None
    arguments: str | None = None


class ToolCallDelta(msgspec.Struct, omit_defaults=True):
    index: int
    id: str | None = None
    type: Literal["function"] | None = None
    function: FunctionDelta | None = None


class Delta(msgspec.Struct, omit_defaults=True):
    role: Literal["assistant"] | None = None
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[ToolCallDelta] | None = None


class ChunkChoice(msgspec.Struct, omit_defaults=False):
    index: int
    delta: Delta
    finish_reason: FinishReason | None = None
    logprobs: ChoiceLogprobs | None = None


# `object` is the struct tag so it is always encoded (omit_defaults would drop a defaulted
# field, and OpenAI's schema requires it).
class ChatChunk(
    msgspec.Struct, omit_defaults=True, tag_field="object", tag="chat.completion.chunk"
):
    id: str
    created: int
    model: str
    choices: list[ChunkChoice]
    # Present (and choices empty) only on the final usage chunk.
    usage: Usage | None = None
    system_fingerprint: str | None = None
    service_tier: str | None = None
