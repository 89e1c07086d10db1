"""Simulated Anthropic Messages API: /v1/messages (stream + non-stream), count_tokens, models.

Shapes follow https://docs.anthropic.com/en/api/messages and .../messages-streaming; errors are
`{"type": "error", "error": {"type", "message"}, "request_id"}`.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from portico.simulate import content as c
from portico.simulate._dialect import SSE, Endpoint, Plan, Prepared, SimError
from portico.simulate.faults import Fault

MODELS = ("claude-sonnet-4-5", "claude-haiku-4-5")
PING_EVERY = 10
_ENC = msgspec.json.Encoder()


class _TextLike(msgspec.Struct):
    type: str
    text: str | None = None


class _Block(msgspec.Struct):
    type: str
    text: str | None = None
    name: str | None = None
    input: dict[str, Any] | None = None
    content: str | list[_TextLike] | None = None


class _Msg(msgspec.Struct):
    role: Literal["user", "assistant"]
    content: str | list[_Block]


class _Tool(msgspec.Struct):
    name: str
    input_schema: dict[str, Any] | None = None


class _ToolChoice(msgspec.Struct):
    type: Literal["auto", "any", "tool", "none"]
    name: str | None = None


class _Format(msgspec.Struct):
    type: str
    schema: dict[str, Any] | None = None


class _OutputConfig(msgspec.Struct):
    format: _Format | None = None


class MessagesRequest(msgspec.Struct):
    model: str
    max_tokens: int
    messages: list[_Msg]
    system: str | list[_TextLike] | None = None
    stream: bool = False
    tools: list[_Tool] | None = None
    tool_choice: _ToolChoice | None = None
    output_config: _OutputConfig | None = None


class CountRequest(msgspec.Struct):
    model: str
    messages: list[_Msg]
    system: str | list[_TextLike] | None = None


_MESSAGES_DEC = msgspec.json.Decoder(MessagesRequest)
_COUNT_DEC = msgspec.json.Decoder(CountRequest)
_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
    403: "permission_error", 404: "not_found_error", 413: "request_too_large",
    429: "rate_limit_error", 500: "api_error", 504: "timeout_error", 529: "overloaded_error",
}
_DEFAULT_MESSAGES = {
    401: "invalid x-api-key", 404: "Not found", 429: "Number of requests has exceeded your rate "
    "limit. Please try again later.", 500: "Internal server error", 529: "Overloaded",
}


def _decode(decoder: msgspec.json.Decoder[Any], body: bytes) -> Any:
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise SimError(400, f"{exc}") from exc
    except msgspec.DecodeError as exc:
        raise SimError(400, "There was an issue with your request body: invalid JSON.") from exc


def _block_text(block: _Block) -> str:
    if block.text:
        return block.text
    if block.input is not None:
        return _ENC.encode(block.input).decode()
    if isinstance(block.content, str):
        return block.content
    return " ".join(t.text for t in block.content or () if t.text)


def _texts(messages: list[_Msg], system: str | list[_TextLike] | None) -> list[str]:
    out = [] if system is None else [
        system if isinstance(system, str) else " ".join(t.text for t in system if t.text)
    ]
    for m in messages:
        out.append(m.content if isinstance(m.content, str)
                   else " ".join(_block_text(b) for b in m.content))
    return out


def _sse(kind: str, payload: object) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + _ENC.encode(payload) + b"\n\n"


class AnthropicDialect:
    name = "anthropic"
    request_id_header = b"request-id"
    auth_status = 401

    def __init__(self, *, seed: int, chunks: int) -> None:
        self._seed = seed
        self._chunks = chunks
        self._routes: dict[tuple[str, str], Endpoint] = {
            ("POST", "/v1/messages"): self._messages,
            ("POST", "/v1/messages/count_tokens"): self._count,
            ("GET", "/v1/models"): self._models,
        }

    def route(self, method: str, path: str) -> Endpoint | None:
        return self._routes.get((method, path))

    def auth_present(self, headers: dict[bytes, bytes], query: bytes) -> bool:
        return bool(headers.get(b"x-api-key")) or headers.get(b"authorization", b"").lower() \
            .startswith(b"bearer ")

    def error(self, status: int, message: str, kind: str | None, fault: Fault | None) -> bytes:
        etype = _TYPES.get(status, "api_error") if kind in (None, "auth", "not_found") else kind
        msg = message or _DEFAULT_MESSAGES.get(status, "Internal server error")
        return _ENC.encode({"type": "error", "error": {"type": etype, "message": msg},
                            "request_id": "req_sim"})

    def error_frame(self, fault: Fault) -> bytes:
        status = fault.status if fault.status and fault.status >= 400 else 529
        etype = fault.error_type or _TYPES.get(status, "api_error")
        msg = fault.message or _DEFAULT_MESSAGES.get(status, "Internal server error")
        return _sse("error", {"type": "error", "error": {"type": etype, "message": msg}})

    def malformed_frame(self) -> bytes:
        return b'event: message_start\ndata: {"type": "message_start", "message": {"id": \n\n'

    # -- endpoints ---------------------------------------------------------------------------
    def _models(self, body: bytes, query: bytes) -> Prepared:
        data = [{"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
                for m in MODELS]
        out = _ENC.encode({"data": data, "has_more": False, "first_id": MODELS[0],
                           "last_id": MODELS[-1]})
        return Prepared(None, False, lambda fault, seq: Plan(False, out))

    def _count(self, body: bytes, query: bytes) -> Prepared:
        req: CountRequest = _decode(_COUNT_DEC, body)
        tokens = c.prompt_tokens(_texts(req.messages, req.system))
        out = _ENC.encode({"input_tokens": tokens})
        return Prepared(req.model, False, lambda fault, seq: Plan(False, out))

    def _messages(self, body: bytes, query: bytes) -> Prepared:
        req: MessagesRequest = _decode(_MESSAGES_DEC, body)
        if not req.messages:
            raise SimError(400, "messages: at least one message is required")
        if req.max_tokens < 1:
            raise SimError(400, "max_tokens: must be greater than or equal to 1")
        texts = _texts(req.messages, req.system)
        last_user = next((t for m, t in zip(reversed(req.messages), reversed(texts), strict=False)
                          if m.role == "user"), "")
        tool = self._tool(req, last_user)
        prompt = c.prompt_tokens(texts)
        return Prepared(req.model, req.stream, lambda fault, seq: self._plan(
            req, prompt, last_user, tool=tool, fault=fault, seq=seq))

    @staticmethod
    def _tool(req: MessagesRequest, last_user: str) -> _Tool | None:
        last = req.messages[-1].content
        after_tool = not isinstance(last, str) and any(b.type == "tool_result" for b in last)
        choice = req.tool_choice
        if not req.tools or (choice is not None and choice.type == "none"):
            return None
        if choice is not None and choice.type == "tool":
            found = next((t for t in req.tools if t.name == choice.name), None)
            if found is None:
                raise SimError(400, f"tool_choice: tool '{choice.name}' not found in tools")
            return found
        if (choice is not None and choice.type == "any") or c.wants_tool(
                last_user, after_tool_result=after_tool):
            return req.tools[0]
        return None

    @staticmethod
    def _text(req: MessagesRequest, last_user: str, tokens: int) -> str:
        fmt = req.output_config.format if req.output_config else None
        if fmt is not None and fmt.type == "json_schema":
            return _ENC.encode(c.value_for_schema(fmt.schema or {"type": "object"})).decode()
        system = req.system if isinstance(req.system, str) else " ".join(
            t.text or "" for t in req.system or ())
        if c.wants_json(system):
            return _ENC.encode({"answer": c.make_text(last_user, min(tokens, 8)).strip()}).decode()
        return c.make_text(last_user, tokens)

    def _plan(self, req: MessagesRequest, prompt: int, last_user: str, *, tool: _Tool | None,
              fault: Fault | None, seq: int) -> Plan:
        ident = f"msg_sim{self._seed}_{seq}"
        if tool is not None:
            value = c.value_for_schema(tool.input_schema or {"type": "object"})
            args = _ENC.encode(value).decode()
            completion, stop = c.count_tokens(args), "tool_use"
            block: dict[str, object] = {"type": "tool_use", "id": f"toolu_sim{self._seed}_{seq}",
                                        "name": tool.name, "input": value}
        else:
            completion, truncated = c.completion_budget(req.max_tokens,
                                                        fault.tokens if fault else None)
            args = self._text(req, last_user, completion)
            stop = "max_tokens" if truncated else "end_turn"
            block = {"type": "text", "text": args}
        usage = {"input_tokens": prompt, "output_tokens": completion,
                 "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                 "service_tier": "standard"}
        message = {"id": ident, "type": "message", "role": "assistant", "model": req.model,
                   "content": [block], "stop_reason": stop, "stop_sequence": None, "usage": usage}
        if not req.stream:
            return Plan(False, _ENC.encode(message), prompt_tokens=prompt,
                        completion_tokens=completion)
        start = {**message, "content": [], "stop_reason": None,
                 "usage": {**usage, "output_tokens": 1}}
        frames = [_sse("message_start", {"type": "message_start", "message": start})]
        opened = {**block, "input": {}} if tool is not None else {"type": "text", "text": ""}
        frames.append(_sse("content_block_start", {"type": "content_block_start", "index": 0,
                                                   "content_block": opened}))
        frames.append(_sse("ping", {"type": "ping"}))
        chunks = fault.chunks if fault is not None and fault.chunks is not None else self._chunks
        for i, piece in enumerate(c.split_text(args, chunks)):
            if i and i % PING_EVERY == 0:
                frames.append(_sse("ping", {"type": "ping"}))
            delta = ({"type": "input_json_delta", "partial_json": piece} if tool is not None
                     else {"type": "text_delta", "text": piece})
            frames.append(_sse("content_block_delta",
                               {"type": "content_block_delta", "index": 0, "delta": delta}))
        frames.append(_sse("content_block_stop", {"type": "content_block_stop", "index": 0}))
        frames.append(_sse("message_delta", {
            "type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
            "usage": {"output_tokens": completion}}))
        frames.append(_sse("message_stop", {"type": "message_stop"}))
        return Plan(True, frames=frames, content_type=SSE, prompt_tokens=prompt,
                    completion_tokens=completion)
