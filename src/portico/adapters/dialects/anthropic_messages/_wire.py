"""Typed msgspec shapes of Anthropic Messages API bodies (https://docs.anthropic.com/en/api/messages).

Outgoing structs mirror the `anthropic.types.*Param` TypedDicts; incoming ones are deliberately
loose (one struct per event or block, optional fields) so new block and event types decode.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

# ---- request (encoded) -------------------------------------------------------------------------


class _Out(msgspec.Struct, omit_defaults=True):
    pass


class Base64Source(_Out, tag_field="type", tag="base64"):
    media_type: str
    data: str


class URLSource(_Out, tag_field="type", tag="url"):
    url: str


class TextBlock(_Out, tag_field="type", tag="text"):
    text: str


class ImageBlock(_Out, tag_field="type", tag="image"):
    source: Base64Source | URLSource


class DocumentBlock(_Out, tag_field="type", tag="document"):
    source: Base64Source | URLSource


class ToolUseBlock(_Out, tag_field="type", tag="tool_use"):
    id: str
    name: str
    input: dict[str, Any]


class ToolResultBlock(_Out, tag_field="type", tag="tool_result"):
    tool_use_id: str
    content: str | list[TextBlock | ImageBlock]


Block = TextBlock | ImageBlock | DocumentBlock | ToolUseBlock | ToolResultBlock


class MessageParam(_Out):
    role: Literal["user", "assistant"]
    content: list[Block]


class ToolParam(_Out):
    name: str
    input_schema: dict[str, Any]
    description: str | None = None
    strict: bool | None = None


class ToolChoiceAuto(_Out, tag_field="type", tag="auto"):
    disable_parallel_tool_use: bool | None = None


class ToolChoiceAny(_Out, tag_field="type", tag="any"):
    disable_parallel_tool_use: bool | None = None


class ToolChoiceTool(_Out, tag_field="type", tag="tool"):
    name: str
    disable_parallel_tool_use: bool | None = None


class ToolChoiceNone(_Out, tag_field="type", tag="none"):
    pass


ToolChoiceParam = ToolChoiceAuto | ToolChoiceAny | ToolChoiceTool | ToolChoiceNone


class Metadata(_Out):
    user_id: str


class JSONOutputFormat(_Out, tag_field="type", tag="json_schema"):
    schema: dict[str, Any]


class OutputConfig(_Out):
    format: JSONOutputFormat | None = None


class CreateParams(_Out):
    model: str
    max_tokens: int
    messages: list[MessageParam]
    system: list[TextBlock] | None = None
    stop_sequences: list[str] | None = None
    temperature: float | None = None
    top_p: float | None = None
    tools: list[ToolParam] | None = None
    tool_choice: ToolChoiceParam | None = None
    metadata: Metadata | None = None
    output_config: OutputConfig | None = None
    stream: bool | None = None


# ---- responses and stream events (decoded) -----------------------------------------------------


class OutputTokensDetails(msgspec.Struct):
    thinking_tokens: int = 0


class Usage(msgspec.Struct):
    # message_delta usage carries cumulative counts, any of which may be absent.
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    output_tokens_details: OutputTokensDetails | None = None


class ContentBlock(msgspec.Struct):
    """Any response block; `type` says which fields matter (text, tool_use, thinking, ...)."""

    type: str
    text: str | None = None
    id: str | None = None
    name: str | None = None
    input: dict[str, Any] | None = None


class Message(msgspec.Struct):
    id: str
    model: str
    content: list[ContentBlock] = []
    type: str = "message"
    role: str = "assistant"
    stop_reason: str | None = None
    stop_sequence: str | None = None
    usage: Usage | None = None


class ErrorObject(msgspec.Struct):
    type: str = "api_error"
    message: str = ""


class ErrorResponse(msgspec.Struct):
    error: ErrorObject
    type: str = "error"
    request_id: str | None = None


class EventDelta(msgspec.Struct):
    """content_block_delta (text_delta, input_json_delta, thinking_delta, ...) or message_delta."""

    type: str | None = None
    text: str | None = None
    partial_json: str | None = None
    stop_reason: str | None = None
    stop_sequence: str | None = None


class StreamEvent(msgspec.Struct):
    type: str
    message: Message | None = None
    index: int | None = None
    content_block: ContentBlock | None = None
    delta: EventDelta | None = None
    usage: Usage | None = None
    error: ErrorObject | None = None
