"""Canonical ChatRequest to an Anthropic `POST /v1/messages` body.

Reference: https://docs.anthropic.com/en/api/messages. System and developer messages move to the
top-level `system`; tool results become user `tool_result` blocks; same-role turns are merged.
"""

from __future__ import annotations

from typing import Any, assert_never

import msgspec

from portico.adapters._auth import join_url, upstream_headers
from portico.adapters.base import Target, UpstreamRequest
from portico.adapters.dialects.anthropic_messages import _wire as w
from portico.errors import InvalidRequest
from portico.schema import chat as c

# Anthropic requires max_tokens; the gateway normally sets it from the deployment beforehand.
DEFAULT_MAX_TOKENS = 4096
# Anthropic has no JSON mode without a schema (structured outputs need one), so json_object is
# asked for in the system prompt; json_schema uses structured outputs (`output_config.format`).
JSON_OBJECT_INSTRUCTION = (
    "Respond with a single valid JSON object only, with no text before or after it."
)
# From API version 2026-10-21 on, temperature/top_p/top_k are rejected even at default values
# (the SDK 2.x types no longer carry them), so they are dropped for those versions.
SAMPLING_REMOVED_IN_VERSION = "2026-10-21"
_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
_ENCODER = msgspec.json.Encoder()


def _anthropic_version(target: Target) -> str | None:
    version = None
    for name, value in (*target.provider.default_headers, *target.extra_headers):
        if name.lower() == "anthropic-version":
            version = value
    return version


def _data_url(url: str, param: str) -> tuple[str, str] | None:
    """(media type, base64 data) of a `data:` URL; None if `url` is not one."""
    if not url.startswith("data:"):
        return None
    header, sep, data = url[5:].partition(",")
    media_type, _, encoding = header.partition(";")
    if not sep or encoding != "base64" or not data:
        raise InvalidRequest("data URLs must be base64-encoded (data:<type>;base64,...)",
                             param=param)
    return media_type.lower(), data


def _image(part: c.ImagePart, param: str) -> w.ImageBlock:
    url = part.image_url.url
    decoded = _data_url(url, param)
    if decoded is not None:
        media_type, data = decoded
        if media_type not in _IMAGE_TYPES:
            raise InvalidRequest(f"unsupported image type {media_type!r} for this model",
                                 param=param)
        return w.ImageBlock(source=w.Base64Source(media_type=media_type, data=data))
    if url.startswith(("https://", "http://")):
        return w.ImageBlock(source=w.URLSource(url=url))
    raise InvalidRequest("image_url must be an http(s) URL or a base64 data URL", param=param)


def _file(part: c.FilePart, param: str) -> w.DocumentBlock:
    decoded = _data_url(part.file.file_data or "", param)
    if decoded is None or decoded[0] != "application/pdf":
        raise InvalidRequest("only inline PDF files (file_data as a base64 data URL) can be "
                             "sent to this model", param=param)
    return w.DocumentBlock(source=w.Base64Source(media_type=decoded[0], data=decoded[1]))


def _text(text: str) -> list[w.Block]:
    # Anthropic rejects empty text blocks.
    return [w.TextBlock(text=text)] if text else []


def _user_blocks(msg: c.UserMessage, param: str) -> list[w.Block]:
    if isinstance(msg.content, str):
        return _text(msg.content)
    blocks: list[w.Block] = []
    for j, part in enumerate(msg.content):
        where = f"{param}.content[{j}]"
        if isinstance(part, c.TextPart):
            blocks.extend(_text(part.text))
        elif isinstance(part, c.ImagePart):
            blocks.append(_image(part, where))
        elif isinstance(part, c.FilePart):
            blocks.append(_file(part, where))
        elif isinstance(part, c.AudioPart):
            raise InvalidRequest("audio input is not supported by this model", param=where)
        else:
            assert_never(part)
    return blocks


def _tool_input(call: c.ToolCall, param: str) -> dict[str, Any]:
    raw = call.function.arguments
    if not raw.strip():
        return {}
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise InvalidRequest("tool call arguments must be valid JSON", param=param) from exc
    if not isinstance(value, dict):
        raise InvalidRequest("tool call arguments must be a JSON object", param=param)
    return value


def _assistant_blocks(msg: c.AssistantMessage, param: str) -> list[w.Block]:
    if msg.function_call is not None:
        raise InvalidRequest("the legacy function_call field is not supported; use tool_calls",
                             param=f"{param}.function_call")
    blocks: list[w.Block] = []
    if isinstance(msg.content, list):
        for part in msg.content:
            blocks.extend(_text(part.text if isinstance(part, c.TextPart) else part.refusal))
    else:
        blocks.extend(_text(msg.content or ""))
    for k, call in enumerate(msg.tool_calls or ()):
        where = f"{param}.tool_calls[{k}].function.arguments"
        blocks.append(w.ToolUseBlock(id=call.id, name=call.function.name,
                                     input=_tool_input(call, where)))
    return blocks


def _conversation(req: c.ChatRequest) -> tuple[list[w.TextBlock], list[w.MessageParam]]:
    system: list[w.TextBlock] = []
    turns: list[w.MessageParam] = []
    for i, msg in enumerate(req.messages):
        param = f"messages[{i}]"
        if isinstance(msg, c.SystemMessage | c.DeveloperMessage):
            text = c.text_of(msg.content)
            if text:
                system.append(w.TextBlock(text=text))
            continue
        if isinstance(msg, c.UserMessage):
            role, blocks = "user", _user_blocks(msg, param)
        elif isinstance(msg, c.AssistantMessage):
            role, blocks = "assistant", _assistant_blocks(msg, param)
        elif isinstance(msg, c.ToolMessage):
            role = "user"
            blocks = [w.ToolResultBlock(tool_use_id=msg.tool_call_id,
                                        content=c.text_of(msg.content))]
        elif isinstance(msg, c.FunctionMessage):
            raise InvalidRequest("legacy function messages are not supported; use tool messages",
                                 param=param)
        else:
            assert_never(msg)
        if not blocks:
            continue
        if turns and turns[-1].role == role:
            turns[-1].content.extend(blocks)
        else:
            turns.append(w.MessageParam(role="user" if role == "user" else "assistant",
                                        content=blocks))
    return system, turns


def _tools(req: c.ChatRequest) -> tuple[list[w.ToolParam] | None, w.ToolChoiceParam | None]:
    if req.functions or req.function_call is not None:
        raise InvalidRequest("the legacy functions API is not supported; use tools",
                             param="functions" if req.functions else "function_call")
    if not req.tools:
        return None, None
    tools = [
        w.ToolParam(name=t.function.name, description=t.function.description,
                    input_schema=t.function.parameters or {"type": "object", "properties": {}},
                    strict=True if t.function.strict else None)
        for t in req.tools
    ]
    serial = True if req.parallel_tool_calls is False else None
    choice = req.tool_choice
    result: w.ToolChoiceParam | None
    if choice is None:
        result = w.ToolChoiceAuto(disable_parallel_tool_use=True) if serial else None
    elif choice == "auto":
        result = w.ToolChoiceAuto(disable_parallel_tool_use=serial)
    elif choice == "required":
        result = w.ToolChoiceAny(disable_parallel_tool_use=serial)
    elif choice == "none":
        result = w.ToolChoiceNone()
    elif isinstance(choice, c.NamedToolChoice):
        result = w.ToolChoiceTool(name=choice.function.name, disable_parallel_tool_use=serial)
    else:
        assert_never(choice)
    return tools, result


def _output_format(req: c.ChatRequest, system: list[w.TextBlock]) -> w.OutputConfig | None:
    fmt = req.response_format
    if fmt is None or isinstance(fmt, c.TextFormat):
        return None
    if isinstance(fmt, c.JsonObjectFormat):
        system.append(w.TextBlock(text=JSON_OBJECT_INSTRUCTION))
        return None
    if isinstance(fmt, c.JsonSchemaFormat):
        if fmt.json_schema.schema is None:
            raise InvalidRequest("json_schema.schema is required for this model",
                                 param="response_format.json_schema.schema")
        return w.OutputConfig(format=w.JSONOutputFormat(schema=fmt.json_schema.schema))
    assert_never(fmt)


def build_params(req: c.ChatRequest, target: Target) -> w.CreateParams:
    """The typed Anthropic body for `req` (InvalidRequest for what Anthropic cannot express)."""
    if req.n is not None and req.n > 1:
        raise InvalidRequest("n > 1 is not supported by this model", param="n")
    if req.temperature is not None and req.temperature > 1:
        raise InvalidRequest("temperature must be between 0 and 1 for this model",
                             param="temperature")
    system, turns = _conversation(req)
    tools, tool_choice = _tools(req)
    output_config = _output_format(req, system)
    stop = [req.stop] if isinstance(req.stop, str) else req.stop
    version = _anthropic_version(target)
    sampling = version is None or version < SAMPLING_REMOVED_IN_VERSION
    user = req.user or req.safety_identifier
    return w.CreateParams(
        model=target.model,
        max_tokens=req.output_cap if req.output_cap is not None else DEFAULT_MAX_TOKENS,
        messages=turns,
        system=system or None,
        stop_sequences=stop or None,
        temperature=req.temperature if sampling else None,
        top_p=req.top_p if sampling else None,
        tools=tools,
        tool_choice=tool_choice,
        metadata=w.Metadata(user_id=user) if user else None,
        output_config=output_config,
        stream=True if req.wants_stream else None,
    )


def translate_request(req: c.ChatRequest, target: Target) -> UpstreamRequest:
    body = _ENCODER.encode(build_params(req, target))
    extra = (("accept", "text/event-stream"),) if req.wants_stream else ()
    return UpstreamRequest(
        method="POST",
        url=join_url(target.base_url, "messages"),
        headers=upstream_headers(target, *extra),
        body=body,
        stream=req.wants_stream,
    )
