"""Simulated OpenAI API: chat completions (stream + non-stream), embeddings and models.

Shapes follow https://platform.openai.com/docs/api-reference/chat and the OpenAPI document;
error bodies are `{"error": {"message", "type", "param", "code"}}`.
"""

from __future__ import annotations

import base64
import time
from typing import Any, Literal

import msgspec

from portico.simulate import content as c
from portico.simulate._dialect import SSE, Endpoint, Plan, Prepared, SimError
from portico.simulate.faults import Fault

MODELS = ("gpt-4o-mini", "gpt-4o", "text-embedding-3-small")
_ENC = msgspec.json.Encoder()
_DONE = b"data: [DONE]\n\n"
_FINGERPRINT = "fp_portico_sim"


class _Part(msgspec.Struct):
    type: str
    text: str | None = None


class _Fn(msgspec.Struct):
    name: str
    arguments: str = ""


class _ToolCall(msgspec.Struct):
    function: _Fn
    id: str = ""
    type: str = "function"


class _Message(msgspec.Struct):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[_Part] | None = None
    tool_calls: list[_ToolCall] | None = None


class _FunctionDef(msgspec.Struct):
    name: str
    parameters: dict[str, Any] | None = None


class _Tool(msgspec.Struct):
    function: _FunctionDef
    type: str = "function"


class _Named(msgspec.Struct):
    name: str


class _NamedChoice(msgspec.Struct):
    function: _Named
    type: str = "function"


class _StreamOptions(msgspec.Struct):
    include_usage: bool = False


class _JsonSchema(msgspec.Struct):
    name: str = "response"
    schema: dict[str, Any] | None = None


class _ResponseFormat(msgspec.Struct):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: _JsonSchema | None = None


class ChatRequest(msgspec.Struct):
    model: str
    messages: list[_Message]
    stream: bool | None = False
    stream_options: _StreamOptions | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    tools: list[_Tool] | None = None
    tool_choice: Literal["none", "auto", "required"] | _NamedChoice | None = None
    response_format: _ResponseFormat | None = None


class EmbeddingRequest(msgspec.Struct):
    model: str
    input: str | list[str | int | list[int]]
    dimensions: int | None = None
    encoding_format: Literal["float", "base64"] = "float"


_CHAT = msgspec.json.Decoder(ChatRequest)
_EMBED = msgspec.json.Decoder(EmbeddingRequest)

_KINDS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    409: ("invalid_request_error", None),
    413: ("invalid_request_error", None),
    422: ("invalid_request_error", None),
    429: ("requests", "rate_limit_exceeded"),
}
_MESSAGES = {
    401: "Incorrect API key provided.",
    404: "The model does not exist or you do not have access to it.",
    429: "Rate limit reached for requests. Please try again later.",
    500: "The server had an error while processing your request. Sorry about that!",
    503: "The server is overloaded or not ready yet.",
}


def decode(decoder: msgspec.json.Decoder[Any], body: bytes) -> Any:
    if not body:
        raise SimError(400, "We could not parse the JSON body of your request.")
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise SimError(400, f"Invalid request: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise SimError(400, "We could not parse the JSON body of your request.") from exc


def _text(msg: _Message) -> str:
    parts: list[str] = []
    if isinstance(msg.content, str):
        parts.append(msg.content)
    elif msg.content is not None:
        parts.extend(p.text for p in msg.content if p.text)
    for call in msg.tool_calls or ():
        parts.append(call.function.arguments)
    return " ".join(parts)


class OpenAIDialect:
    name = "openai"
    request_id_header = b"x-request-id"
    auth_status = 401

    def __init__(self, *, seed: int, chunks: int) -> None:
        self._seed = seed
        self._chunks = chunks
        self._routes: dict[tuple[str, str], Endpoint] = {
            ("POST", "/v1/chat/completions"): self._chat,
            ("POST", "/v1/embeddings"): self._embeddings,
            ("GET", "/v1/models"): self._models,
        }

    def route(self, method: str, path: str) -> Endpoint | None:
        found = self._routes.get((method, path))
        if found is None and method == "GET" and path.startswith("/v1/models/"):
            model = path[len("/v1/models/") :]
            return lambda body, query: self._model(model)
        return found

    def auth_present(self, headers: dict[bytes, bytes], query: bytes) -> bool:
        auth = headers.get(b"authorization", b"")
        return (auth.lower().startswith(b"bearer ") and len(auth) > 7) or b"api-key" in headers

    def error(self, status: int, message: str, kind: str | None, fault: Fault | None) -> bytes:
        etype, code = _KINDS.get(status, ("server_error", None))
        if kind == "not_found":
            code = "unknown_url"
        elif kind is not None and kind != "auth":
            etype = kind
        msg = message or _MESSAGES.get(status, "The server had an error processing your request.")
        if fault is not None and fault.code is not None:
            code = fault.code
        return _ENC.encode({"error": {"message": msg, "type": etype, "param": None, "code": code}})

    def error_frame(self, fault: Fault) -> bytes:
        status = fault.status if fault.status and fault.status >= 400 else 500
        body = self.error(status, fault.message or "", fault.error_type, fault)
        return b"data: " + body + b"\n\n"

    def malformed_frame(self) -> bytes:
        return b'data: {"id": "chatcmpl-sim", "choices": [{"delta": {"content": \n\n'

    # -- endpoints ---------------------------------------------------------------------------
    def _models(self, body: bytes, query: bytes) -> Prepared:
        data = [{"id": m, "object": "model", "created": 1700000000, "owned_by": "portico-sim"}
                for m in MODELS]
        body = _ENC.encode({"object": "list", "data": data})
        return Prepared(None, False, lambda fault, seq: Plan(False, body))

    def _model(self, model: str) -> Prepared:
        body = _ENC.encode(
            {"id": model, "object": "model", "created": 1700000000, "owned_by": "portico-sim"}
        )
        return Prepared(model, False, lambda fault, seq: Plan(False, body))

    def _embeddings(self, body: bytes, query: bytes) -> Prepared:
        req: EmbeddingRequest = decode(_EMBED, body)
        raw = req.input
        if isinstance(raw, str):
            texts = [raw]
        elif raw and all(isinstance(x, int) for x in raw):
            texts = [" ".join(map(str, raw))]
        else:
            texts = [x if isinstance(x, str) else " ".join(map(str, x)) for x in raw
                     if not isinstance(x, int)]
            if len(texts) != len(raw):
                raise SimError(400, "'$.input' is invalid: mixed token and string inputs.")
        if not texts or any(t == "" for t in texts):
            raise SimError(400, "'$.input' is invalid: input must not be empty.")
        dims = req.dimensions if req.dimensions is not None else c.DEFAULT_DIMS
        if dims < 1:
            raise SimError(400, "dimensions must be at least 1.")
        tokens = sum(c.count_tokens(t) for t in texts)

        def build(fault: Fault | None, seq: int) -> Plan:
            data = []
            for i, text in enumerate(texts):
                vec = c.embedding(text, dims, self._seed)
                value: object = vec
                if req.encoding_format == "base64":
                    value = base64.b64encode(c.embedding_base64(vec)).decode()
                data.append({"object": "embedding", "index": i, "embedding": value})
            usage = {"prompt_tokens": tokens, "total_tokens": tokens}
            out = {"object": "list", "data": data, "model": req.model, "usage": usage}
            return Plan(False, _ENC.encode(out), prompt_tokens=tokens, completion_tokens=0)

        return Prepared(req.model, False, build)

    def _chat(self, body: bytes, query: bytes) -> Prepared:
        req: ChatRequest = decode(_CHAT, body)
        if not req.messages:
            raise SimError(400, "Invalid 'messages': empty array. Expected at least 1 message.")
        stream = bool(req.stream)
        if req.stream_options is not None and not stream:
            raise SimError(400, "The 'stream_options' parameter is only allowed when 'stream' "
                           "is enabled.")
        texts = [_text(m) for m in req.messages]
        last_user = next((t for m, t in zip(reversed(req.messages), reversed(texts), strict=True)
                          if m.role == "user"), "")
        prompt = c.prompt_tokens(texts)
        after_tool = bool(req.messages) and req.messages[-1].role in ("tool", "function")
        tool = self._tool_call(req, last_user, after_tool)
        return Prepared(
            req.model, stream,
            lambda fault, seq: self._plan(req, prompt, last_user, tool=tool, fault=fault, seq=seq),
        )

    def _plan(
        self, req: ChatRequest, prompt: int, last_user: str, *, tool: _FunctionDef | None,
        fault: Fault | None, seq: int,
    ) -> Plan:
        max_tokens = req.max_completion_tokens if req.max_completion_tokens is not None \
            else req.max_tokens
        text: str | None = None
        args = ""
        if tool is not None:
            args = _ENC.encode(c.value_for_schema(tool.parameters or {"type": "object"})).decode()
            completion, finish = c.count_tokens(args), "tool_calls"
        elif req.response_format is not None and req.response_format.type != "text":
            fmt = req.response_format
            schema = fmt.json_schema.schema if fmt.json_schema is not None else None
            value = c.value_for_schema(schema) if schema else {"text": last_user or "sim"}
            text = _ENC.encode(value).decode()
            completion, finish = c.count_tokens(text), "stop"
        else:
            completion, truncated = c.completion_budget(max_tokens, fault.tokens if fault else None)
            text = c.make_text(last_user, completion)
            finish = "length" if truncated else "stop"
        ident = f"chatcmpl-sim{self._seed}-{seq}"
        call_id = f"call_sim{self._seed}_{seq}"
        usage = {
            "prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0,
                                          "rejected_prediction_tokens": 0},
        }
        created = int(time.time())
        if not (req.stream or False):
            message: dict[str, object] = {"role": "assistant", "content": text, "refusal": None,
                                          "annotations": []}
            if tool is not None:
                message["tool_calls"] = [{"id": call_id, "type": "function",
                                          "function": {"name": tool.name, "arguments": args}}]
            out = {"id": ident, "object": "chat.completion", "created": created,
                   "model": req.model, "choices": [{"index": 0, "message": message,
                                                    "logprobs": None, "finish_reason": finish}],
                   "usage": usage, "service_tier": "default", "system_fingerprint": _FINGERPRINT}
            return Plan(False, _ENC.encode(out), prompt_tokens=prompt, completion_tokens=completion)
        include_usage = req.stream_options is not None and req.stream_options.include_usage
        head = {"id": ident, "object": "chat.completion.chunk", "created": created,
                "model": req.model, "service_tier": "default", "system_fingerprint": _FINGERPRINT}
        if include_usage:
            head["usage"] = None

        def frame(delta: dict[str, object], finish_reason: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            return b"data: " + _ENC.encode({**head, "choices": [choice]}) + b"\n\n"

        chunks = fault.chunks if fault is not None and fault.chunks is not None else self._chunks
        frames: list[bytes] = []
        if tool is not None:
            frames.append(frame({"role": "assistant", "content": None, "refusal": None,
                                 "tool_calls": [{"index": 0, "id": call_id, "type": "function",
                                                 "function": {"name": tool.name,
                                                              "arguments": ""}}]}))
            frames.extend(frame({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
                          for piece in c.split_text(args, chunks))
        else:
            frames.append(frame({"role": "assistant", "content": "", "refusal": None}))
            frames.extend(frame({"content": piece}) for piece in c.split_text(text or "", chunks))
        frames.append(frame({}, finish))
        if include_usage:
            frames.append(b"data: " + _ENC.encode({**head, "choices": [], "usage": usage})
                          + b"\n\n")
        frames.append(_DONE)
        return Plan(True, frames=frames, content_type=SSE, prompt_tokens=prompt,
                    completion_tokens=completion)

    @staticmethod
    def _tool_call(req: ChatRequest, last_user: str, after_tool: bool) -> _FunctionDef | None:
        if not req.tools or req.tool_choice == "none":
            return None
        choice = req.tool_choice
        if isinstance(choice, _NamedChoice):
            named = next((t.function for t in req.tools if t.function.name == choice.function.name),
                         None)
            if named is None:
                raise SimError(400, f"Invalid value for 'tool_choice': no function named "
                               f"'{choice.function.name}' was specified in the 'tools' parameter.")
            return named
        if choice == "required" or c.wants_tool(last_user, after_tool_result=after_tool):
            return req.tools[0].function
        return None
