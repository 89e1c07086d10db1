"""Typed msgspec shapes of Gemini generateContent, batchEmbedContents and error bodies.

Field names follow https://ai.google.dev/api/generate-content (camelCase via rename="camel").
Enum-like strings (finishReason, blockReason, status) stay `str`: a new value never fails
decoding.
"""

from __future__ import annotations

from typing import Any

import msgspec


class _Wire(msgspec.Struct, rename="camel", omit_defaults=True):
    pass


# ---- shared by request and response -------------------------------------------------------


class Blob(_Wire):
    mime_type: str
    data: str  # base64


class FileData(_Wire):
    file_uri: str
    mime_type: str | None = None


class FunctionCall(_Wire):
    name: str
    args: dict[str, Any] | None = None
    id: str | None = None


class FunctionResponse(_Wire):
    name: str
    response: dict[str, Any]
    id: str | None = None


class Part(_Wire):
    """A oneof in Gemini: exactly one data field is set; `thought` marks reasoning text."""

    text: str | None = None
    inline_data: Blob | None = None
    file_data: FileData | None = None
    function_call: FunctionCall | None = None
    function_response: FunctionResponse | None = None
    thought: bool | None = None
    thought_signature: str | None = None


class Content(_Wire):
    parts: list[Part] = []
    role: str | None = None


# ---- request ------------------------------------------------------------------------------


class FunctionDeclaration(_Wire):
    name: str
    description: str | None = None
    parameters_json_schema: dict[str, Any] | None = None


class Tool(_Wire):
    function_declarations: list[FunctionDeclaration]


class FunctionCallingConfig(_Wire):
    mode: str  # AUTO | ANY | NONE
    allowed_function_names: list[str] | None = None


class ToolConfig(_Wire):
    function_calling_config: FunctionCallingConfig


class GenerationConfig(_Wire):
    max_output_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop_sequences: list[str] | None = None
    candidate_count: int | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    response_logprobs: bool | None = None
    logprobs: int | None = None
    response_mime_type: str | None = None
    response_json_schema: dict[str, Any] | None = None

    def is_empty(self) -> bool:
        return self == GenerationConfig()


class GenerateContentRequest(_Wire):
    contents: list[Content]
    system_instruction: Content | None = None
    tools: list[Tool] | None = None
    tool_config: ToolConfig | None = None
    generation_config: GenerationConfig | None = None


# ---- response -----------------------------------------------------------------------------


class LogprobCandidate(_Wire):
    token: str = ""
    log_probability: float = 0.0


class TopCandidates(_Wire):
    candidates: list[LogprobCandidate] = []


class LogprobsResult(_Wire):
    chosen_candidates: list[LogprobCandidate] = []
    top_candidates: list[TopCandidates] = []


class Candidate(_Wire):
    content: Content | None = None
    finish_reason: str | None = None
    index: int | None = None  # proto3 JSON omits 0
    logprobs_result: LogprobsResult | None = None


class PromptFeedback(_Wire):
    block_reason: str | None = None


class UsageMetadata(_Wire):
    prompt_token_count: int = 0
    candidates_token_count: int = 0
    thoughts_token_count: int = 0
    cached_content_token_count: int = 0
    tool_use_prompt_token_count: int = 0
    total_token_count: int = 0


class ErrorDetail(_Wire):
    """One google.rpc detail (RetryInfo, ErrorInfo, ...); only the fields we act on."""

    type: str = msgspec.field(default="", name="@type")
    retry_delay: str | None = None  # RetryInfo: protobuf Duration, e.g. "13s", "1.5s"
    reason: str | None = None       # ErrorInfo: e.g. "API_KEY_INVALID"


class Status(_Wire):
    code: int = 0
    message: str = ""
    status: str = ""
    details: list[ErrorDetail] = []


class ErrorEnvelope(_Wire):
    error: Status


class GenerateContentResponse(_Wire):
    candidates: list[Candidate] = []
    prompt_feedback: PromptFeedback | None = None
    usage_metadata: UsageMetadata | None = None
    model_version: str | None = None
    response_id: str | None = None
    # Streams report a failure in-band as an SSE data event holding only this.
    error: Status | None = None


# ---- embeddings ---------------------------------------------------------------------------


class EmbedContentRequest(_Wire):
    model: str
    content: Content
    output_dimensionality: int | None = None


class BatchEmbedContentsRequest(_Wire):
    requests: list[EmbedContentRequest]


class ContentEmbedding(_Wire):
    values: list[float] = []


class BatchEmbedContentsResponse(_Wire):
    embeddings: list[ContentEmbedding] = []
