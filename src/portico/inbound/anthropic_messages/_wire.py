"""Typed msgspec shapes of the inbound Anthropic Messages API (https://docs.anthropic.com/en/api/messages).

Requests (decoded) mirror `anthropic.types.MessageCreateParams`: strict at the top level, tolerant
of unknown nested fields. Responses and stream events (encoded) mirror `anthropic.types.Message`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

JsonObject = dict[str, Any]

# ---- request (decoded) -------------------------------------------------------------------------


class _In(msgspec.Struct):
    """Nested objects ignore unknown fields (cache_control, citations, caller, ...)."""


class Base64Source(_In, tag_field="type", tag="base64"):
    media_type: str
    data: str


class URLSource(_In, tag_field="type", tag="url"):
    url: str


class FileSource(_In, tag_field="type", tag="file"):
    file_id: str


class PlainTextSource(_In, tag_field="type", tag="text"):
    data: str
    media_type: str = "text/plain"


class TextBlock(_In, tag_field="type", tag="text"):
    text: str


class ImageBlock(_In, tag_field="type", tag="image"):
    source: Base64Source | URLSource | FileSource


class ContentSource(_In, tag_field="type", tag="content"):
    content: str | list[TextBlock | ImageBlock]


class DocumentBlock(_In, tag_field="type", tag="document"):
    source: Base64Source | URLSource | FileSource | PlainTextSource | ContentSource
    title: str | None = None
    context: str | None = None


class ToolUseBlock(_In, tag_field="type", tag="tool_use"):
    id: str
    name: str
    input: JsonObject


class ToolResultBlock(_In, tag_field="type", tag="tool_result"):
    tool_use_id: str
    content: str | list[TextBlock | ImageBlock | DocumentBlock] = ""
    is_error: bool = False


class ThinkingBlock(_In, tag_field="type", tag="thinking"):
    thinking: str = ""


class RedactedThinkingBlock(_In, tag_field="type", tag="redacted_thinking"):
    data: str = ""


Block = (
    TextBlock | ImageBlock | DocumentBlock | ToolUseBlock | ToolResultBlock | ThinkingBlock
    | RedactedThinkingBlock
)


class UserTurn(_In, tag_field="role", tag="user"):
    content: str | list[Block]


class AssistantTurn(_In, tag_field="role", tag="assistant"):
    content: str | list[Block]


class SystemTurn(_In, tag_field="role", tag="system"):
    content: str | list[TextBlock]


Turn = UserTurn | AssistantTurn | SystemTurn


class ToolDef(_In):
    name: Annotated[str, Meta(min_length=1)]
    # Server tools (web_search_*, bash_*, ...) carry a versioned `type` and no input_schema.
    type: str | None = None
    description: str | None = None
    input_schema: JsonObject | None = None
    strict: bool | None = None


class ToolChoiceAuto(_In, tag_field="type", tag="auto"):
    disable_parallel_tool_use: bool | None = None


class ToolChoiceAny(_In, tag_field="type", tag="any"):
    disable_parallel_tool_use: bool | None = None


class ToolChoiceTool(_In, tag_field="type", tag="tool"):
    name: str
    disable_parallel_tool_use: bool | None = None


class ToolChoiceNone(_In, tag_field="type", tag="none"):
    pass


ToolChoice = ToolChoiceAuto | ToolChoiceAny | ToolChoiceTool | ToolChoiceNone


class Metadata(_In):
    user_id: str | None = None


class JSONOutputFormat(_In, tag_field="type", tag="json_schema"):
    schema: JsonObject


class OutputConfig(_In):
    format: JSONOutputFormat | None = None
    effort: str | None = None


class MessagesRequest(msgspec.Struct, forbid_unknown_fields=True):
    """The top level refuses unknown fields, as the OpenAI route does."""

    model: Annotated[str, Meta(min_length=1, max_length=256)]
    max_tokens: Annotated[int, Meta(ge=1)]
    messages: Annotated[list[Turn], Meta(min_length=1)]
    system: str | list[TextBlock] | None = None
    stop_sequences: list[str] | None = None
    temperature: Annotated[float, Meta(ge=0, le=1)] | None = None
    top_p: Annotated[float, Meta(ge=0, le=1)] | None = None
    top_k: Annotated[int, Meta(ge=0)] | None = None
    tools: list[ToolDef] | None = None
    tool_choice: ToolChoice | None = None
    metadata: Metadata | None = None
    output_config: OutputConfig | None = None
    stream: bool | None = None
    # Accepted and dropped (see request.DROPPABLE): nothing in the canonical schema carries them.
    thinking: JsonObject | None = None
    cache_control: JsonObject | None = None
    service_tier: str | None = None


# ---- response and stream events (encoded) ------------------------------------------------------


class OutTextBlock(msgspec.Struct, tag_field="type", tag="text"):
    text: str


class OutToolUseBlock(msgspec.Struct, tag_field="type", tag="tool_use"):
    id: str
    name: str
    input: JsonObject


OutBlock = OutTextBlock | OutToolUseBlock
StopReason = Literal["end_turn", "max_tokens", "stop_sequence", "tool_use", "refusal"]


class OutUsage(msgspec.Struct):
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0


class OutMessage(msgspec.Struct, tag_field="type", tag="message"):
    id: str
    model: str
    content: list[OutBlock]
    stop_reason: StopReason | None
    usage: OutUsage
    stop_sequence: str | None = None
    role: Literal["assistant"] = "assistant"


class MessageStart(msgspec.Struct, tag_field="type", tag="message_start"):
    message: OutMessage


class ContentBlockStart(msgspec.Struct, tag_field="type", tag="content_block_start"):
    index: int
    content_block: OutBlock


class TextDelta(msgspec.Struct, tag_field="type", tag="text_delta"):
    text: str


class InputJSONDelta(msgspec.Struct, tag_field="type", tag="input_json_delta"):
    partial_json: str


class ContentBlockDelta(msgspec.Struct, tag_field="type", tag="content_block_delta"):
    index: int
    delta: TextDelta | InputJSONDelta


class ContentBlockStop(msgspec.Struct, tag_field="type", tag="content_block_stop"):
    index: int


class MessageDeltaBody(msgspec.Struct):
    stop_reason: StopReason | None
    stop_sequence: str | None = None


class MessageDelta(msgspec.Struct, tag_field="type", tag="message_delta"):
    delta: MessageDeltaBody
    usage: OutUsage


class MessageStop(msgspec.Struct, tag_field="type", tag="message_stop"):
    pass


class Ping(msgspec.Struct, tag_field="type", tag="ping"):
    pass


class ErrorObject(msgspec.Struct):
    type: str
    message: str


class ErrorResponse(msgspec.Struct, omit_defaults=True, tag_field="type", tag="error"):
    error: ErrorObject
    request_id: str | None = None


Event = (
    MessageStart | ContentBlockStart | ContentBlockDelta | ContentBlockStop | MessageDelta
    | MessageStop | Ping | ErrorResponse
)
