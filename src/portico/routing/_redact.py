"""A request made safe to log when an upstream rejects it (4xx): message contents become their
length and a short hash, so the shape can be debugged without the text ever reaching a log."""

from __future__ import annotations

import hashlib

import msgspec

from portico.schema.chat import (
    AssistantMessage,
    AudioPart,
    ChatRequest,
    FilePart,
    FunctionCall,
    ImagePart,
    ImageURL,
    InputAudio,
    Message,
    RefusalPart,
    TextPart,
    ToolCall,
)

Part = TextPart | ImagePart | AudioPart | FilePart | RefusalPart


def fingerprint(text: str) -> str:
    """`[N chars sha256:abcdef012345]`: enough to tell two payloads apart, never the text."""
    digest = hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:12]
    return f"[{len(text)} chars sha256:{digest}]"


def _part(p: Part) -> Part:
    if isinstance(p, TextPart):
        return TextPart(text=fingerprint(p.text))
    if isinstance(p, RefusalPart):
        return RefusalPart(refusal=fingerprint(p.refusal))
    if isinstance(p, ImagePart):
        return ImagePart(image_url=ImageURL(url=fingerprint(p.image_url.url),
                                            detail=p.image_url.detail))
    if isinstance(p, AudioPart):
        return AudioPart(input_audio=InputAudio(data=fingerprint(p.input_audio.data),
                                                format=p.input_audio.format))
    f = p.file
    return FilePart(file=msgspec.structs.replace(
        f, file_data=fingerprint(f.file_data) if f.file_data else None))


def _content(content: object) -> object:
    if isinstance(content, str):
        return fingerprint(content)
    if isinstance(content, list):
        return [_part(p) for p in content]
    return content


def _message(msg: Message) -> Message:
    out = msgspec.structs.replace(msg, content=_content(msg.content))
    if isinstance(out, AssistantMessage):
        if out.tool_calls:
            out.tool_calls = [ToolCall(id=c.id, function=FunctionCall(
                name=c.function.name, arguments=fingerprint(c.function.arguments)))
                for c in out.tool_calls]
        if out.refusal:
            out.refusal = fingerprint(out.refusal)
    return out


def redacted_payload(req: ChatRequest) -> str:
    """The request as JSON with every message content replaced by its length and hash."""
    safe = msgspec.structs.replace(req, messages=[_message(m) for m in req.messages])
    return msgspec.json.encode(safe).decode()
