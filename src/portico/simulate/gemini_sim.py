"""Simulated Gemini API: generateContent, streamGenerateContent (alt=sse or JSON array),
embedContent, batchEmbedContents, countTokens and the model list, under /v1beta (and /v1).

Shapes follow https://ai.google.dev/api/generate-content; errors are google.rpc.Status bodies,
with RetryInfo.retryDelay in the body on 429 (no Retry-After header).
"""

from __future__ import annotations

from typing import Any

import msgspec

from portico.simulate import content as c
from portico.simulate._dialect import JSON, SSE, Endpoint, Plan, Prepared, SimError
from portico.simulate.faults import Fault

MODELS = ("gemini-2.5-flash", "gemini-2.5-pro", "gemini-embedding-001")
_ENC = msgspec.json.Encoder()
_PREFIXES = ("/v1beta/models", "/v1/models")
_STATUSES = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
    409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 499: "CANCELLED", 500: "INTERNAL",
    501: "NOT_IMPLEMENTED", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
}
_DEFAULT_MESSAGES = {
    403: "Method doesn't allow unregistered callers (callers without established identity). "
    "Please use API Key or other form of API consumer identity to call this API.",
    429: "Resource has been exhausted (e.g. check quota).",
    500: "An internal error has occurred. Please retry or report in "
    "https://developers.generativeai.google/guide/troubleshooting",
    503: "The model is overloaded. Please try again later.",
}


class _FnCall(msgspec.Struct):
    name: str
    args: dict[str, Any] | None = None


class _Part(msgspec.Struct, rename="camel"):
    text: str | None = None
    function_call: _FnCall | None = None
    function_response: dict[str, Any] | None = None


class _Content(msgspec.Struct):
    parts: list[_Part]
    role: str | None = None


class _FnDecl(msgspec.Struct, rename="camel"):
    name: str
    parameters: dict[str, Any] | None = None
    parameters_json_schema: dict[str, Any] | None = None


class _Tool(msgspec.Struct, rename="camel"):
    function_declarations: list[_FnDecl] | None = None


class _CallingConfig(msgspec.Struct, rename="camel"):
    mode: str | None = None
    allowed_function_names: list[str] | None = None


class _ToolConfig(msgspec.Struct, rename="camel"):
    function_calling_config: _CallingConfig | None = None


class _GenConfig(msgspec.Struct, rename="camel"):
    max_output_tokens: int | None = None
    response_mime_type: str | None = None
    response_schema: dict[str, Any] | None = None
    response_json_schema: dict[str, Any] | None = None


class GenerateRequest(msgspec.Struct, rename="camel"):
    contents: list[_Content]
    system_instruction: _Content | None = None
    generation_config: _GenConfig | None = None
    tools: list[_Tool] | None = None
    tool_config: _ToolConfig | None = None


class _EmbedRequest(msgspec.Struct, rename="camel"):
    content: _Content
    model: str | None = None
    output_dimensionality: int | None = None


class _BatchEmbed(msgspec.Struct):
    requests: list[_EmbedRequest]


_GEN = msgspec.json.Decoder(GenerateRequest)
_EMBED = msgspec.json.Decoder(_EmbedRequest)
_BATCH = msgspec.json.Decoder(_BatchEmbed)


def _decode(decoder: msgspec.json.Decoder[Any], body: bytes) -> Any:
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise SimError(400, f"Invalid JSON payload received. {exc}") from exc
    except msgspec.DecodeError as exc:
        raise SimError(400, "Invalid JSON payload received.") from exc


def _content_text(content: _Content) -> str:
    out: list[str] = []
    for p in content.parts:
        if p.text:
            out.append(p.text)
        elif p.function_call is not None:
            out.append(_ENC.encode(p.function_call.args or {}).decode())
        elif p.function_response is not None:
            out.append(_ENC.encode(p.function_response).decode())
    return " ".join(out)


def _duration(seconds: float) -> str:
    return f"{seconds:g}s"


class GeminiDialect:
    name = "gemini"
    request_id_header = b"x-goog-request-id"
    auth_status = 403  # a call without a key is an unregistered caller

    def __init__(self, *, seed: int, chunks: int) -> None:
        self._seed = seed
        self._chunks = chunks

    def route(self, method: str, path: str) -> Endpoint | None:
        prefix = next((p for p in _PREFIXES if path.startswith(p)), None)
        if prefix is None:
            return None
        rest = path[len(prefix):]
        if rest in ("", "/"):
            return self._models if method == "GET" else None
        model, _, action = rest[1:].rpartition(":")
        if method != "POST" or not model:
            return None
        handlers = {
            "generateContent": lambda b, q: self._generate(model, b, q, stream=False),
            "streamGenerateContent": lambda b, q: self._generate(model, b, q, stream=True),
            "embedContent": lambda b, q: self._embed(model, b, batch=False),
            "batchEmbedContents": lambda b, q: self._embed(model, b, batch=True),
            "countTokens": lambda b, q: self._count(model, b),
        }
        return handlers.get(action)

    def auth_present(self, headers: dict[bytes, bytes], query: bytes) -> bool:
        return bool(headers.get(b"x-goog-api-key")) or b"key=" in query \
            or headers.get(b"authorization", b"").lower().startswith(b"bearer ")

    def error(self, status: int, message: str, kind: str | None, fault: Fault | None) -> bytes:
        grpc = kind if kind not in (None, "auth", "not_found") else _STATUSES.get(status, "UNKNOWN")
        msg = message or _DEFAULT_MESSAGES.get(status, "Request failed.")
        err: dict[str, object] = {"code": status, "message": msg, "status": grpc}
        wait = fault.retry_seconds() if fault is not None else None
        if status == 429 and wait is not None:
            err["details"] = [
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [
                    {"quotaMetric": "generativelanguage.googleapis.com/generate_content_requests",
                     "quotaId": "GenerateRequestsPerMinutePerProjectPerModel"}]},
                {"@type": "type.googleapis.com/google.rpc.RetryInfo",
                 "retryDelay": _duration(wait)},
            ]
        return _ENC.encode({"error": err})

    def error_frame(self, fault: Fault) -> bytes:
        status = fault.status if fault.status and fault.status >= 400 else 503
        return b"data: " + self.error(status, fault.message or "", fault.error_type, fault) \
            + b"\r\n\r\n"

    def malformed_frame(self) -> bytes:
        return b'data: {"candidates": [{"content": {"parts": [{"text": \r\n\r\n'

    # -- endpoints ---------------------------------------------------------------------------
    def _models(self, body: bytes, query: bytes) -> Prepared:
        data = [{"name": f"models/{m}", "displayName": m, "version": "001",
                 "supportedGenerationMethods": ["generateContent", "countTokens"]} for m in MODELS]
        out = _ENC.encode({"models": data})
        return Prepared(None, False, lambda fault, seq: Plan(False, out))

    def _count(self, model: str, body: bytes) -> Prepared:
        req: GenerateRequest = _decode(_GEN, body)
        out = _ENC.encode({"totalTokens": c.prompt_tokens(self._texts(req))})
        return Prepared(model, False, lambda fault, seq: Plan(False, out))

    def _embed(self, model: str, body: bytes, *, batch: bool) -> Prepared:
        reqs = _decode(_BATCH, body).requests if batch else [_decode(_EMBED, body)]
        texts = [_content_text(r.content) for r in reqs]
        if not texts or any(not t for t in texts):
            raise SimError(400, "Request contains an invalid argument: content is empty.")
        dims = [r.output_dimensionality or c.DEFAULT_DIMS for r in reqs]
        vectors = [{"values": c.embedding(t, d, self._seed)} for t, d in zip(texts, dims,
                                                                           strict=True)]
        out = _ENC.encode({"embeddings": vectors} if batch else {"embedding": vectors[0]})
        tokens = sum(c.count_tokens(t) for t in texts)
        return Prepared(model, False, lambda fault, seq: Plan(False, out, prompt_tokens=tokens,
                                                              completion_tokens=0))

    @staticmethod
    def _texts(req: GenerateRequest) -> list[str]:
        texts = [] if req.system_instruction is None else [_content_text(req.system_instruction)]
        texts.extend(_content_text(ct) for ct in req.contents)
        return texts

    def _generate(self, model: str, body: bytes, query: bytes, *, stream: bool) -> Prepared:
        req: GenerateRequest = _decode(_GEN, body)
        if not req.contents:
            raise SimError(400, "* GenerateContentRequest.contents: contents is not specified")
        for ct in req.contents:
            if ct.role not in (None, "user", "model", "function"):
                raise SimError(400, "Please use a valid role: user, model.")
        last_user = next((_content_text(ct) for ct in reversed(req.contents)
                          if ct.role in (None, "user")), "")
        tool = self._tool(req, last_user)
        prompt = c.prompt_tokens(self._texts(req))
        sse = b"alt=sse" in query
        return Prepared(model, stream, lambda fault, seq: self._plan(
            req, model, prompt, last_user=last_user, tool=tool, fault=fault, seq=seq, stream=stream,
            sse=sse))

    @staticmethod
    def _tool(req: GenerateRequest, last_user: str) -> _FnDecl | None:
        decls = [d for t in req.tools or () for d in t.function_declarations or ()]
        cfg = req.tool_config.function_calling_config if req.tool_config else None
        mode = (cfg.mode or "AUTO").upper() if cfg is not None else "AUTO"
        if not decls or mode == "NONE":
            return None
        allowed = cfg.allowed_function_names if cfg is not None else None
        if allowed:
            decls = [d for d in decls if d.name in allowed] or decls
        after_tool = any(p.function_response is not None for p in req.contents[-1].parts)
        return decls[0] if mode == "ANY" or c.wants_tool(
            last_user, after_tool_result=after_tool) else None

    def _plan(self, req: GenerateRequest, model: str, prompt: int, *, last_user: str,
              tool: _FnDecl | None, fault: Fault | None, seq: int, stream: bool,
              sse: bool) -> Plan:
        gen = req.generation_config
        pieces: list[dict[str, object]]
        if tool is not None:
            args = c.value_for_schema(tool.parameters_json_schema or tool.parameters
                                      or {"type": "object"})
            completion = c.count_tokens(_ENC.encode(args).decode())
            finish = "STOP"
            pieces = [{"functionCall": {"name": tool.name, "args": args}}]
        elif gen is not None and gen.response_mime_type == "application/json":
            schema = gen.response_json_schema or gen.response_schema
            text = _ENC.encode(c.value_for_schema(schema) if schema
                               else {"text": last_user or "sim"}).decode()
            completion, finish = c.count_tokens(text), "STOP"
            pieces = [{"text": p} for p in c.split_text(text, self._chunks_for(fault))]
        else:
            completion, truncated = c.completion_budget(
                gen.max_output_tokens if gen else None, fault.tokens if fault else None)
            text = c.make_text(last_user, completion)
            finish = "MAX_TOKENS" if truncated else "STOP"
            pieces = [{"text": p} for p in c.split_text(text, self._chunks_for(fault))]
        usage = {"promptTokenCount": prompt, "candidatesTokenCount": completion,
                 "totalTokenCount": prompt + completion,
                 "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}]}
        response_id = f"sim{self._seed}-{seq}"
        if not stream:
            merged = pieces if tool is not None else [{"text": "".join(
                str(p["text"]) for p in pieces)}]
            out = {"candidates": [{"content": {"parts": merged, "role": "model"},
                                   "finishReason": finish, "index": 0}],
                   "usageMetadata": usage, "modelVersion": model, "responseId": response_id}
            return Plan(False, _ENC.encode(out), prompt_tokens=prompt,
                        completion_tokens=completion)
        chunks: list[dict[str, object]] = []
        for i, part in enumerate(pieces or [{"text": ""}]):
            cand: dict[str, object] = {"content": {"parts": [part], "role": "model"}, "index": 0}
            chunk: dict[str, object] = {"candidates": [cand], "modelVersion": model,
                                        "responseId": response_id}
            if i == max(len(pieces), 1) - 1:
                cand["finishReason"] = finish
                chunk["usageMetadata"] = usage
            chunks.append(chunk)
        if sse:
            frames = [b"data: " + _ENC.encode(ch) + b"\r\n\r\n" for ch in chunks]
            return Plan(True, frames=frames, content_type=SSE, prompt_tokens=prompt,
                        completion_tokens=completion)
        # Without alt=sse the stream is one JSON array, sent element by element.
        frames = [(b"[" if i == 0 else b",\r\n") + _ENC.encode(ch) for i, ch in enumerate(chunks)]
        frames.append(b"]")
        return Plan(True, frames=frames, content_type=JSON, prompt_tokens=prompt,
                    completion_tokens=completion)

    def _chunks_for(self, fault: Fault | None) -> int:
        return fault.chunks if fault is not None and fault.chunks is not None else self._chunks
