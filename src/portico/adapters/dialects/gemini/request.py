"""Canonical ChatRequest -> Gemini generateContent body and URL.

https://ai.google.dev/api/generate-content ; thought signatures:
https://ai.google.dev/gemini-api/docs/thought-signatures
"""

from __future__ import annotations

import mimetypes
import urllib.parse
from typing import Any, assert_never

import msgspec

from portico.adapters._auth import join_url, upstream_headers
from portico.adapters.base import Target, UpstreamRequest
from portico.adapters.dialects.gemini import _wire as w
from portico.adapters.dialects.gemini._ids import split_tool_call_id
from portico.errors import InvalidRequest
from portico.schema import chat as c

# Gemini 3 rejects a replayed model turn whose first functionCall lacks the signature it was
# issued with. When a client's history carries none (it came from another model, or was
# rebuilt), Google documents this value as the way to skip that validation.
SKIP_SIGNATURE = "skip_thought_signature_validator"
# JSON-schema keywords that only describe the schema document; Gemini's JSON-schema subset
# rejects some of them, and dropping them never changes what is valid.
_META_KEYWORDS = frozenset({"$schema", "$id", "$comment"})


def model_path(model: str) -> str:
    """`models/<m>` for a bare or prefixed name; tuned models keep their own collection."""
    name = model.removeprefix("models/")
    if name.startswith("tunedModels/"):
        return urllib.parse.quote(name, safe="/-._~")
    return "models/" + urllib.parse.quote(name, safe="-._~")


def translate_request(req: c.ChatRequest, target: Target) -> UpstreamRequest:
    stream = req.wants_stream
    action = ":streamGenerateContent?alt=sse" if stream else ":generateContent"
    body = w.GenerateContentRequest(
        contents=_contents(req.messages),
        system_instruction=_system(req.messages),
        tools=_tools(req),
        tool_config=_tool_config(req),
        generation_config=_generation_config(req),
    )
    return UpstreamRequest(
        method="POST",
        url=join_url(target.base_url, model_path(target.model) + action),
        headers=upstream_headers(target),
        body=msgspec.json.encode(body),
        stream=stream,
    )


def _system(messages: list[c.Message]) -> w.Content | None:
    # Gemini has one system instruction, so every system/developer message joins it, in order.
    parts = [
        w.Part(text=c.text_of(m.content))
        for m in messages
        if isinstance(m, c.SystemMessage | c.DeveloperMessage)
    ]
    return w.Content(parts=parts) if parts else None


def _contents(messages: list[c.Message]) -> list[w.Content]:
    out: list[w.Content] = []
    call_names: dict[str, str] = {}
    for i, m in enumerate(messages):
        if isinstance(m, c.SystemMessage | c.DeveloperMessage):
            continue
        if isinstance(m, c.UserMessage):
            out.append(w.Content(role="user", parts=_user_parts(m.content, i)))
        elif isinstance(m, c.AssistantMessage):
            parts = _assistant_parts(m, i, call_names)
            if parts:
                out.append(w.Content(role="model", parts=parts))
        elif isinstance(m, c.ToolMessage):
            name = call_names.get(m.tool_call_id)
            if name is None:
                raise InvalidRequest(
                    f"tool_call_id {m.tool_call_id!r} matches no earlier assistant tool call",
                    param=f"messages[{i}].tool_call_id",
                )
            _append_response(out, w.Part(function_response=w.FunctionResponse(
                name=name, response={"content": _decoded(c.text_of(m.content))})))
        elif isinstance(m, c.FunctionMessage):
            _append_response(out, w.Part(function_response=w.FunctionResponse(
                name=m.name, response={"content": _decoded(m.content or "")})))
        else:
            assert_never(m)
    return out


def _append_response(out: list[w.Content], part: w.Part) -> None:
    # Answers to one parallel call go back together in a single user turn.
    last = out[-1] if out else None
    if last is not None and last.role == "user" and all(
        p.function_response is not None for p in last.parts
    ):
        last.parts.append(part)
    else:
        out.append(w.Content(role="user", parts=[part]))


def _decoded(text: str) -> Any:
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError:
        return text


def _user_parts(content: str | list[c.UserPart], i: int) -> list[w.Part]:
    if isinstance(content, str):
        return [w.Part(text=content)]
    parts: list[w.Part] = []
    for j, p in enumerate(content):
        param = f"messages[{i}].content[{j}]"
        if isinstance(p, c.TextPart):
            parts.append(w.Part(text=p.text))
        elif isinstance(p, c.ImagePart):
            parts.append(_image_part(p.image_url.url, param + ".image_url.url"))
        elif isinstance(p, c.AudioPart):
            # OpenAI's formats (wav, mp3) are Gemini's audio/wav and audio/mp3 names as they are.
            mime = "audio/" + p.input_audio.format
            parts.append(w.Part(inline_data=w.Blob(mime_type=mime, data=p.input_audio.data)))
        elif isinstance(p, c.FilePart):
            if not p.file.file_data:
                raise InvalidRequest("Gemini accepts files only as inline file_data", param=param)
            parts.append(_data_url_part(p.file.file_data, param + ".file.file_data"))
        else:
            assert_never(p)
    return parts


def _image_part(url: str, param: str) -> w.Part:
    if url.startswith("data:"):
        return _data_url_part(url, param)
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ("http", "https", "gs"):
        raise InvalidRequest("image_url must be a data:, http(s) or gs URL", param=param)
    guessed, _ = mimetypes.guess_type(urllib.parse.urlsplit(url).path)
    return w.Part(file_data=w.FileData(file_uri=url, mime_type=guessed or "image/*"))


def _data_url_part(url: str, param: str) -> w.Part:
    header, sep, data = url.partition(",")
    meta = header.removeprefix("data:").split(";")
    if not sep or not url.startswith("data:") or "base64" not in meta[1:] or not meta[0]:
        raise InvalidRequest("expected a base64 data URL with a media type", param=param)
    return w.Part(inline_data=w.Blob(mime_type=meta[0], data=data))


def _assistant_parts(m: c.AssistantMessage, i: int, call_names: dict[str, str]) -> list[w.Part]:
    parts: list[w.Part] = []
    if isinstance(m.content, str):
        if m.content:
            parts.append(w.Part(text=m.content))
    elif m.content is not None:
        for p in m.content:
            text = p.text if isinstance(p, c.TextPart) else p.refusal
            if text:
                parts.append(w.Part(text=text))
    calls = [(t.id, t.function, f"messages[{i}].tool_calls[{j}].function")
             for j, t in enumerate(m.tool_calls or ())]
    if m.function_call is not None:
        calls.append((m.function_call.name, m.function_call, f"messages[{i}].function_call"))
    for n, (call_id, fn, param) in enumerate(calls):
        call_names[call_id] = fn.name
        _, signature = split_tool_call_id(call_id)
        if signature is None and n == 0:
            signature = SKIP_SIGNATURE
        parts.append(w.Part(
            function_call=w.FunctionCall(name=fn.name, args=_args(fn.arguments, param)),
            thought_signature=signature,
        ))
    return parts


def _args(arguments: str, param: str) -> dict[str, Any]:
    if not arguments.strip():
        return {}
    try:
        value = msgspec.json.decode(arguments)
    except msgspec.DecodeError as exc:
        raise InvalidRequest(f"tool call arguments are not valid JSON: {exc}",
                             param=param + ".arguments") from exc
    if not isinstance(value, dict):
        raise InvalidRequest("tool call arguments must be a JSON object",
                             param=param + ".arguments")
    return value


def clean_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema without document-level meta keywords (at every depth)."""
    return {k: _clean(v) for k, v in schema.items() if k not in _META_KEYWORDS}


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return clean_schema(value)
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _tools(req: c.ChatRequest) -> list[w.Tool] | None:
    # `parametersJsonSchema` takes real JSON Schema (additionalProperties, anyOf, $ref...),
    # unlike the OpenAPI-subset `parameters`, so client schemas pass through nearly intact.
    defs = [t.function for t in req.tools or ()] + list(req.functions or ())
    if not defs:
        return None
    return [w.Tool(function_declarations=[
        w.FunctionDeclaration(
            name=d.name,
            description=d.description,
            parameters_json_schema=clean_schema(d.parameters) if d.parameters else None,
        )
        for d in defs
    ])]


def _tool_config(req: c.ChatRequest) -> w.ToolConfig | None:
    choice = req.tool_choice
    if choice is None and req.function_call is not None:
        legacy = req.function_call
        if isinstance(legacy, c.NamedFunction):
            choice = c.NamedToolChoice(function=legacy)
        else:
            choice = legacy
    if choice is None:
        return None
    if isinstance(choice, c.NamedToolChoice):
        cfg = w.FunctionCallingConfig(mode="ANY", allowed_function_names=[choice.function.name])
    elif choice == "none":
        cfg = w.FunctionCallingConfig(mode="NONE")
    elif choice == "auto":
        cfg = w.FunctionCallingConfig(mode="AUTO")
    elif choice == "required":
        cfg = w.FunctionCallingConfig(mode="ANY")
    else:
        assert_never(choice)
    return w.ToolConfig(function_calling_config=cfg)


def _generation_config(req: c.ChatRequest) -> w.GenerationConfig | None:
    stop = [req.stop] if isinstance(req.stop, str) else req.stop
    cfg = w.GenerationConfig(
        max_output_tokens=req.output_cap,
        temperature=req.temperature,
        top_p=req.top_p,
        stop_sequences=stop or None,
        candidate_count=req.n,
        seed=req.seed,
        presence_penalty=req.presence_penalty,
        frequency_penalty=req.frequency_penalty,
        response_logprobs=True if req.logprobs else None,
        logprobs=req.top_logprobs if req.logprobs else None,
    )
    fmt = req.response_format
    if isinstance(fmt, c.JsonObjectFormat):
        cfg.response_mime_type = "application/json"
    elif isinstance(fmt, c.JsonSchemaFormat):
        cfg.response_mime_type = "application/json"
        schema = fmt.json_schema.schema
        cfg.response_json_schema = clean_schema(schema) if schema else None
    elif isinstance(fmt, c.TextFormat) or fmt is None:
        pass
    else:
        assert_never(fmt)
    return None if cfg.is_empty() else cfg
