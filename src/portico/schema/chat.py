"""The canonical chat request: OpenAI's CreateChatCompletionRequest, field for field.

Unknown top-level fields are rejected (as OpenAI does), which also rejects attempts to pick
an upstream (`api_base`, `base_url`, `api_key`) from the request body.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

JsonObject = dict[str, Any]  # arbitrary JSON the client owns (JSON schemas, metadata)
# OpenAI's documented ranges; out-of-range values get a 400 here instead of upstream.
PositiveInt = Annotated[int, Meta(ge=1)]
Temperature = Annotated[float, Meta(ge=0, le=2)]
Probability = Annotated[float, Meta(ge=0, le=1)]
Penalty = Annotated[float, Meta(ge=-2, le=2)]
ChoiceCount = Annotated[int, Meta(ge=1, le=128)]
TopLogprobs = Annotated[int, Meta(ge=0, le=20)]


class _Base(msgspec.Struct, omit_defaults=True):
    """Nested objects tolerate unknown fields: clients echo response messages back verbatim
    (with `annotations`, `audio`, ...), and dropping those is what OpenAI does too."""


class ImageURL(_Base):
    url: str
    detail: Literal["auto", "low", "high"] | None = None


class TextPart(_Base, tag_field="type", tag="text"):
    text: str


class ImagePart(_Base, tag_field="type", tag="image_url"):
    image_url: ImageURL


class InputAudio(_Base):
    data: str
    format: str


class AudioPart(_Base, tag_field="type", tag="input_audio"):
    input_audio: InputAudio


class FileRef(_Base):
    file_id: str | None = None
    file_data: str | None = None
    filename: str | None = None


class FilePart(_Base, tag_field="type", tag="file"):
    file: FileRef


class RefusalPart(_Base, tag_field="type", tag="refusal"):
    refusal: str


UserPart = TextPart | ImagePart | AudioPart | FilePart
AssistantPart = TextPart | RefusalPart


# Tool-related structs carry `type` as their struct tag: a defaulted field would be dropped by
# omit_defaults, and OpenAI requires `type` on tools, tool_choice and tool calls.


class FunctionCall(_Base):
    name: str
    arguments: str


class ToolCall(_Base, tag_field="type", tag="function"):
    id: str
    function: FunctionCall


class SystemMessage(_Base, tag_field="role", tag="system"):
    content: str | list[TextPart]
    name: str | None = None


class DeveloperMessage(_Base, tag_field="role", tag="developer"):
    content: str | list[TextPart]
    name: str | None = None


class UserMessage(_Base, tag_field="role", tag="user"):
    content: str | list[UserPart]
    name: str | None = None


class AssistantMessage(_Base, tag_field="role", tag="assistant"):
    content: str | list[AssistantPart] | None = None
    tool_calls: list[ToolCall] | None = None
    refusal: str | None = None
    name: str | None = None
    function_call: FunctionCall | None = None
    audio: JsonObject | None = None


class ToolMessage(_Base, tag_field="role", tag="tool"):
    content: str | list[TextPart]
    tool_call_id: str


class FunctionMessage(_Base, tag_field="role", tag="function"):
    content: str | None
    name: str


Message = (
    SystemMessage | DeveloperMessage | UserMessage | AssistantMessage | ToolMessage
    | FunctionMessage
)


class FunctionDef(_Base):
    name: str
    description: str | None = None
    parameters: JsonObject | None = None
    strict: bool | None = None


class Tool(_Base, tag_field="type", tag="function"):
    function: FunctionDef


class NamedFunction(_Base):
    name: str


class NamedToolChoice(_Base, tag_field="type", tag="function"):
    function: NamedFunction


ToolChoice = Literal["none", "auto", "required"] | NamedToolChoice


class JsonSchemaSpec(_Base):
    name: str
    description: str | None = None
    schema: JsonObject | None = None
    strict: bool | None = None


class TextFormat(_Base, tag_field="type", tag="text"):
    pass


class JsonObjectFormat(_Base, tag_field="type", tag="json_object"):
    pass


class JsonSchemaFormat(_Base, tag_field="type", tag="json_schema"):
    json_schema: JsonSchemaSpec


ResponseFormat = TextFormat | JsonObjectFormat | JsonSchemaFormat


class StreamOptions(_Base):
    include_usage: bool | None = None
    include_obfuscation: bool | None = None


class ChatRequest(_Base, forbid_unknown_fields=True):
    model: Annotated[str, Meta(min_length=1, max_length=256)]
    messages: Annotated[list[Message], Meta(min_length=1)]
    max_tokens: PositiveInt | None = None
    max_completion_tokens: PositiveInt | None = None
    temperature: Temperature | None = None
    top_p: Probability | None = None
    n: ChoiceCount | None = None
    stop: str | list[str] | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    seed: int | None = None
    user: str | None = None
    metadata: dict[str, str] | None = None
    logprobs: bool | None = None
    top_logprobs: TopLogprobs | None = None
    logit_bias: dict[str, Annotated[int, Meta(ge=-100, le=100)]] | None = None
    frequency_penalty: Penalty | None = None
    presence_penalty: Penalty | None = None
    # Fields OpenAI-dialect upstreams understand; other dialects drop what they cannot express.
    reasoning_effort: str | None = None
    verbosity: str | None = None
    service_tier: str | None = None
    store: bool | None = None
    modalities: list[str] | None = None
    audio: JsonObject | None = None
    prediction: JsonObject | None = None
    web_search_options: JsonObject | None = None
    prompt_cache_key: str | None = None
    prompt_cache_retention: str | None = None
    prompt_cache_options: JsonObject | None = None
    safety_identifier: str | None = None
    moderation: JsonObject | None = None
    functions: list[FunctionDef] | None = None
    function_call: Literal["none", "auto"] | NamedFunction | None = None

    @property
    def output_cap(self) -> int | None:
        """The client's ceiling on output tokens, whichever field carried it."""
        if self.max_completion_tokens is not None:
            return self.max_completion_tokens
        return self.max_tokens

    @property
    def wants_stream(self) -> bool:
        return bool(self.stream)

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)


def text_of(content: str | list[TextPart] | list[UserPart] | list[AssistantPart] | None) -> str:
    """The plain text of a message content, parts joined; non-text parts contribute nothing."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(p.text for p in content if isinstance(p, TextPart))
