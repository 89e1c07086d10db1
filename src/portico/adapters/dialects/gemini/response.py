"""Gemini GenerateContentResponse -> canonical ChatResponse (also the stream's shared pieces).

https://ai.google.dev/api/generate-content#v1beta.GenerateContentResponse
A prompt blocked before generation (promptFeedback.blockReason, no candidates) becomes one
choice with empty content and finish_reason "content_filter", as OpenAI reports filtered output.
"""

from __future__ import annotations

import uuid

import msgspec

from portico.adapters.base import Target, UpstreamResponse
from portico.adapters.dialects.gemini import _wire as w
from portico.adapters.dialects.gemini._ids import tool_call_id
from portico.adapters.dialects.gemini.errors import error_from_status
from portico.errors import UpstreamBadResponse
from portico.schema.chat import FunctionCall, ToolCall
from portico.schema.response import (
    ChatResponse,
    Choice,
    ChoiceLogprobs,
    CompletionTokensDetails,
    FinishReason,
    PromptTokensDetails,
    ResponseMessage,
    TokenLogprob,
    TopLogprob,
    Usage,
)

_FILTERED = frozenset({
    "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION", "MODEL_ARMOR",
})
_DECODER = msgspec.json.Decoder(w.GenerateContentResponse)


def decode_body(body: bytes | str) -> w.GenerateContentResponse:
    try:
        return _DECODER.decode(body)
    except msgspec.DecodeError as exc:
        raise UpstreamBadResponse(f"malformed Gemini response: {exc}") from exc


def finish_reason(reason: str | None, has_tool_calls: bool) -> FinishReason | None:
    """The canonical finish reason; None while the candidate is still generating."""
    if reason is None or reason == "FINISH_REASON_UNSPECIFIED":
        return None
    if has_tool_calls:
        return "tool_calls"
    if reason == "MAX_TOKENS":
        return "length"
    if reason in _FILTERED:
        return "content_filter"
    # STOP and the rest (OTHER, LANGUAGE, MALFORMED_FUNCTION_CALL, ...) end a normal turn.
    return "stop"


def usage(meta: w.UsageMetadata) -> Usage:
    # Thinking tokens are billed as output; tool-use prompt tokens (results of server-side
    # tools fed back to the model) are billed as input, so they count as prompt tokens.
    prompt = meta.prompt_token_count + meta.tool_use_prompt_token_count
    completion = meta.candidates_token_count + meta.thoughts_token_count
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=meta.total_token_count or prompt + completion,
        prompt_tokens_details=PromptTokensDetails(cached_tokens=meta.cached_content_token_count),
        completion_tokens_details=CompletionTokensDetails(
            reasoning_tokens=meta.thoughts_token_count),
    )


def candidate_index(cand: w.Candidate) -> int:
    # proto3 JSON leaves a zero index out.
    return cand.index or 0


def split_parts(parts: list[w.Part], index: int, first_call: int) -> tuple[str, list[ToolCall]]:
    """The visible text and tool calls of some parts; thought (reasoning) parts are dropped."""
    text: list[str] = []
    calls: list[ToolCall] = []
    for part in parts:
        if part.thought:
            continue
        if part.text:
            text.append(part.text)
        if part.function_call is not None:
            fc = part.function_call
            calls.append(ToolCall(
                id=tool_call_id(fc.id, index, first_call + len(calls), part.thought_signature),
                function=FunctionCall(name=fc.name,
                                      arguments=msgspec.json.encode(fc.args or {}).decode()),
            ))
    return "".join(text), calls


def logprobs(result: w.LogprobsResult | None) -> ChoiceLogprobs | None:
    if result is None:
        return None
    tops = result.top_candidates
    return ChoiceLogprobs(content=[
        TokenLogprob(
            token=chosen.token,
            logprob=chosen.log_probability,
            top_logprobs=[TopLogprob(token=t.token, logprob=t.log_probability)
                          for t in (tops[i].candidates if i < len(tops) else [])],
        )
        for i, chosen in enumerate(result.chosen_candidates)
    ])


def blocked_reason(body: w.GenerateContentResponse) -> str | None:
    fb = body.prompt_feedback
    if body.candidates or fb is None or not fb.block_reason:
        return None
    return fb.block_reason


def response_id(body: w.GenerateContentResponse) -> str:
    return body.response_id or f"chatcmpl-{uuid.uuid4().hex}"


def parse_response(resp: UpstreamResponse, target: Target, created: int) -> ChatResponse:
    body = decode_body(resp.body)
    if body.error is not None:
        raise error_from_status(body.error, resp.status)
    choices: list[Choice] = []
    indices = [candidate_index(cand) for cand in body.candidates]
    if len(set(indices)) < len(indices):
        indices = list(range(len(indices)))  # indices left out everywhere: use the order
    for index, cand in zip(indices, body.candidates, strict=True):
        text, calls = split_parts(cand.content.parts if cand.content else [], index, 0)
        message = ResponseMessage(content=text if text or not calls else None)
        if calls:
            message.tool_calls = calls
        choices.append(Choice(
            index=index,
            message=message,
            # A non-streamed candidate is complete even if Gemini left the reason out.
            finish_reason=finish_reason(cand.finish_reason or "STOP", bool(calls)),
            logprobs=logprobs(cand.logprobs_result),
        ))
    if blocked_reason(body) is not None:
        choices.append(Choice(index=0, message=ResponseMessage(content=""),
                              finish_reason="content_filter"))
    if not choices:
        raise UpstreamBadResponse("Gemini response has neither candidates nor a block reason")
    return ChatResponse(
        id=response_id(body),
        created=created,
        model=body.model_version or target.model,
        choices=sorted(choices, key=lambda ch: ch.index),
        usage=usage(body.usage_metadata) if body.usage_metadata else None,
    )
