"""An inbound Anthropic `POST /v1/messages` body to the canonical ChatRequest.

Reference: https://docs.anthropic.com/en/api/messages. tool_use blocks become assistant tool_calls,
each tool_result a tool message; fields with no canonical home are dropped and reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import assert_never

import msgspec

from portico.inbound.anthropic_messages import _wire as w
from portico.inbound.anthropic_messages._decode import decode_request, invalid
from portico.schema import chat as c

# Prefixed to a tool result's text when the client flagged it `is_error`: the canonical tool
# message has no error flag, so the model is told in-band.
TOOL_ERROR_PREFIX = "[tool error] "
# Leads the user message that carries images or documents returned inside a tool_result
# (canonical tool messages hold text only).
TOOL_ATTACHMENT_NOTE = "(attachments returned by tool call {id})"
# OpenAI's json_schema format requires a name; Anthropic's has none.
SCHEMA_NAME = "output"
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
_ENCODER = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class InboundRequest:
    """The canonical request, plus the Anthropic fields accepted but not forwarded."""

    chat: c.ChatRequest
    dropped: tuple[str, ...] = ()


def to_canonical(body: bytes, *, max_depth: int) -> c.ChatRequest:
    """The canonical ChatRequest for an Anthropic Messages body (InvalidRequest on 400s)."""
    return translate(body, max_depth=max_depth).chat


def translate(body: bytes, *, max_depth: int) -> InboundRequest:
    req = decode_request(body, max_depth)
    dropped: list[str] = []
    messages = _system(req.system)
    for i, turn in enumerate(req.messages):
        messages.extend(_turn(turn, f"messages.{i}", dropped))
    if not any(not isinstance(m, c.SystemMessage) for m in messages):
        raise invalid("messages", "at least one message with content is required")
    tools, tool_choice, parallel = _tools(req, dropped)
    for name in ("top_k", "thinking", "cache_control", "service_tier"):
        if getattr(req, name) is not None:
            dropped.append(name)
    if req.output_config is not None and req.output_config.effort is not None:
        dropped.append("output_config.effort")
    stream = bool(req.stream)
    chat = c.ChatRequest(
        model=req.model,
        messages=messages,
        max_tokens=req.max_tokens,
        temperature=req.temperature,
        top_p=req.top_p,
        stop=list(req.stop_sequences) if req.stop_sequences else None,
        stream=True if stream else None,
        # Anthropic streams always end with usage; the framer reports it in message_delta.
        stream_options=c.StreamOptions(include_usage=True) if stream else None,
        tools=tools,
        tool_choice=tool_choice,
        parallel_tool_calls=parallel,
        response_format=_response_format(req.output_config),
        user=req.metadata.user_id if req.metadata and req.metadata.user_id else None,
    )
    return InboundRequest(chat=chat, dropped=tuple(dict.fromkeys(dropped)))


def _system(system: str | list[w.TextBlock] | None) -> list[c.Message]:
    if system is None:
        return []
    if isinstance(system, str):
        return [c.SystemMessage(content=system)] if system else []
    # One system message per block keeps the block boundaries for Anthropic upstreams.
    return [c.SystemMessage(content=b.text) for b in system if b.text]


def _text_or_parts(parts: list[c.UserPart]) -> str | list[c.UserPart]:
    # A lone text part goes as a string: some OpenAI-compatible servers reject part arrays.
    if len(parts) == 1 and isinstance(parts[0], c.TextPart):
        return parts[0].text
    return parts


def _turn(turn: w.Turn, param: str, dropped: list[str]) -> list[c.Message]:
    if isinstance(turn, w.SystemTurn):
        return _system(turn.content)
    if isinstance(turn.content, str):
        if not turn.content:
            return []
        if isinstance(turn, w.UserTurn):
            return [c.UserMessage(content=turn.content)]
        return [c.AssistantMessage(content=turn.content)]
    if isinstance(turn, w.UserTurn):
        return _user(turn.content, param, dropped)
    if isinstance(turn, w.AssistantTurn):
        return _assistant(turn.content, param, dropped)
    assert_never(turn)


def _user(blocks: list[w.Block], param: str, dropped: list[str]) -> list[c.Message]:
    # OpenAI wants tool messages right after the assistant's tool_calls, so the turn's tool
    # results come first (Anthropic requires them first in the turn as well).
    results: list[c.Message] = []
    attachments: list[c.Message] = []
    parts: list[c.UserPart] = []
    for j, block in enumerate(blocks):
        where = f"{param}.content.{j}"
        if isinstance(block, w.ToolResultBlock):
            tool, extra = _tool_result(block, where)
            results.append(tool)
            if extra:
                note = c.TextPart(text=TOOL_ATTACHMENT_NOTE.format(id=block.tool_use_id))
                attachments.append(c.UserMessage(content=[note, *extra]))
        elif isinstance(block, w.ToolUseBlock):
            raise invalid(f"{where}.type", "tool_use blocks belong in assistant messages")
        elif isinstance(block, w.ThinkingBlock | w.RedactedThinkingBlock):
            dropped.append("thinking_blocks")
        else:
            parts.extend(_content_part(block, where))
    user = [c.UserMessage(content=_text_or_parts(parts))] if parts else []
    return [*results, *attachments, *user]


def _assistant(blocks: list[w.Block], param: str, dropped: list[str]) -> list[c.Message]:
    texts: list[c.AssistantPart] = []
    calls: list[c.ToolCall] = []
    for j, block in enumerate(blocks):
        where = f"{param}.content.{j}"
        if isinstance(block, w.TextBlock):
            if block.text:
                texts.append(c.TextPart(text=block.text))
        elif isinstance(block, w.ToolUseBlock):
            arguments = _ENCODER.encode(block.input).decode()
            calls.append(c.ToolCall(id=block.id, function=c.FunctionCall(
                name=block.name, arguments=arguments)))
        elif isinstance(block, w.ThinkingBlock | w.RedactedThinkingBlock):
            dropped.append("thinking_blocks")
        else:
            raise invalid(f"{where}.type", f"{block.__struct_config__.tag!r} blocks are not "
                          "supported in assistant messages")
    if not texts and not calls:
        return []
    content: str | list[c.AssistantPart] | None = None
    if len(texts) == 1 and isinstance(texts[0], c.TextPart):
        content = texts[0].text
    elif texts:
        content = texts
    return [c.AssistantMessage(content=content, tool_calls=calls or None)]


def _tool_result(block: w.ToolResultBlock,
                 param: str) -> tuple[c.ToolMessage, list[c.UserPart]]:
    extra: list[c.UserPart] = []
    if isinstance(block.content, str):
        text = block.content
    else:
        texts: list[str] = []
        for k, part in enumerate(block.content):
            if isinstance(part, w.TextBlock):
                texts.append(part.text)
            else:
                extra.extend(_content_part(part, f"{param}.content.{k}"))
        text = "\n".join(texts)
    if block.is_error:
        text = TOOL_ERROR_PREFIX + text
    return c.ToolMessage(content=text, tool_call_id=block.tool_use_id), extra


def _content_part(block: w.Block, param: str) -> list[c.UserPart]:
    if isinstance(block, w.TextBlock):
        return [c.TextPart(text=block.text)] if block.text else []
    if isinstance(block, w.ImageBlock):
        return [_image(block.source, f"{param}.source")]
    if isinstance(block, w.DocumentBlock):
        return _document(block, f"{param}.source")
    raise invalid(f"{param}.type", f"{block.__struct_config__.tag!r} blocks are not supported "
                  "here")


def _image(source: w.Base64Source | w.URLSource | w.FileSource, param: str) -> c.ImagePart:
    if isinstance(source, w.Base64Source):
        if source.media_type not in IMAGE_TYPES:
            raise invalid(f"{param}.media_type",
                          f"Input should be one of {', '.join(sorted(IMAGE_TYPES))}")
        url = f"data:{source.media_type};base64,{source.data}"
        return c.ImagePart(image_url=c.ImageURL(url=url))
    if isinstance(source, w.URLSource):
        return c.ImagePart(image_url=c.ImageURL(url=source.url))
    if isinstance(source, w.FileSource):
        raise invalid(f"{param}.type", "file sources (Files API) are not supported by this "
                      "gateway; send the image as base64 or a URL")
    assert_never(source)


def _document(block: w.DocumentBlock, param: str) -> list[c.UserPart]:
    source = block.source
    if isinstance(source, w.Base64Source):
        if source.media_type != "application/pdf":
            raise invalid(f"{param}.media_type", "Input should be 'application/pdf'")
        data = f"data:application/pdf;base64,{source.data}"
        return [c.FilePart(file=c.FileRef(file_data=data,
                                          filename=block.title or "document.pdf"))]
    if isinstance(source, w.PlainTextSource):
        return [c.TextPart(text=source.data)] if source.data else []
    if isinstance(source, w.ContentSource):
        if isinstance(source.content, str):
            return [c.TextPart(text=source.content)] if source.content else []
        return [p for k, b in enumerate(source.content)
                for p in _content_part(b, f"{param}.content.{k}")]
    if isinstance(source, w.URLSource | w.FileSource):
        raise invalid(f"{param}.type", "documents by URL or file id are not supported by this "
                      "gateway; send the PDF as base64")
    assert_never(source)


def _tools(req: w.MessagesRequest, dropped: list[str]
           ) -> tuple[list[c.Tool] | None, c.ToolChoice | None, bool | None]:
    tools: list[c.Tool] = []
    for i, tool in enumerate(req.tools or ()):
        if tool.type not in (None, "custom"):
            raise invalid(f"tools.{i}.type", f"server tool {tool.type!r} is not supported by "
                          "this gateway; only client tools (name, input_schema) are")
        if tool.input_schema is None:
            raise invalid(f"tools.{i}.input_schema", "Field required")
        tools.append(c.Tool(function=c.FunctionDef(
            name=tool.name, description=tool.description, parameters=tool.input_schema,
            strict=tool.strict)))
    choice = req.tool_choice
    if not tools:
        if choice is not None:
            dropped.append("tool_choice")  # nothing to choose from; OpenAI would reject it
        return None, None, None
    if choice is None:
        return tools, None, None
    serial = getattr(choice, "disable_parallel_tool_use", None)
    parallel = False if serial else None
    if isinstance(choice, w.ToolChoiceAuto):
        return tools, "auto", parallel
    if isinstance(choice, w.ToolChoiceAny):
        return tools, "required", parallel
    if isinstance(choice, w.ToolChoiceTool):
        named = c.NamedToolChoice(function=c.NamedFunction(name=choice.name))
        return tools, named, parallel
    if isinstance(choice, w.ToolChoiceNone):
        return tools, "none", None
    assert_never(choice)


def _response_format(config: w.OutputConfig | None) -> c.ResponseFormat | None:
    if config is None or config.format is None:
        return None
    # Anthropic's structured outputs are always constrained, hence strict on OpenAI.
    spec = c.JsonSchemaSpec(name=SCHEMA_NAME, schema=config.format.schema, strict=True)
    return c.JsonSchemaFormat(json_schema=spec)
