"""Lenient structs for what OpenAI-compatible upstreams send back (unknown fields ignored).

They are deliberately looser than the canonical schema: vendors send nulls, omit ids, add
extension fields (DeepSeek's cache counters, Groq's `x_groq`) and invent finish reasons.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import msgspec

from portico.schema.response import (
    ChoiceLogprobs,
    CompletionTokensDetails,
    FinishReason,
    PromptTokensDetails,
    Usage,
)


class WireFunction(msgspec.Struct):
    name: str | None = None
    arguments: str | None = None


class WireToolCall(msgspec.Struct):
    index: int | None = None
    id: str | None = None
    type: str | None = None
    function: WireFunction | None = None


class WireMessage(msgspec.Struct):
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[WireToolCall] | None = None
    annotations: list[dict[str, object]] | None = None


class WirePromptDetails(msgspec.Struct):
    cached_tokens: int | None = None
    audio_tokens: int | None = None


class WireCompletionDetails(msgspec.Struct):
    reasoning_tokens: int | None = None
    audio_tokens: int | None = None
    accepted_prediction_tokens: int | None = None
    rejected_prediction_tokens: int | None = None


class WireUsage(msgspec.Struct):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    prompt_tokens_details: WirePromptDetails | None = None
    completion_tokens_details: WireCompletionDetails | None = None
    prompt_cache_hit_tokens: int | None = None  # DeepSeek's name for cached input tokens

    def canonical(self) -> Usage:
        prompt = self.prompt_tokens or 0
        completion = self.completion_tokens or 0
        pd, cd = self.prompt_tokens_details, self.completion_tokens_details
        cached = (pd.cached_tokens if pd else None) or self.prompt_cache_hit_tokens or 0
        prompt_details = None
        if pd is not None or cached:
            prompt_details = PromptTokensDetails(
                cached_tokens=cached, audio_tokens=pd.audio_tokens if pd else None)
        completion_details = None
        if cd is not None:
            completion_details = CompletionTokensDetails(
                reasoning_tokens=cd.reasoning_tokens or 0,
                audio_tokens=cd.audio_tokens,
                accepted_prediction_tokens=cd.accepted_prediction_tokens,
                rejected_prediction_tokens=cd.rejected_prediction_tokens,
            )
        return Usage(
            prompt_tokens=prompt,
            completion_tokens=completion,
            total_tokens=self.total_tokens or prompt + completion,
            prompt_tokens_details=prompt_details,
            completion_tokens_details=completion_details,
        )


class WireChoice(msgspec.Struct):
    index: int = 0
    message: WireMessage | None = None
    finish_reason: str | None = None
    logprobs: ChoiceLogprobs | None = None


class WireResponse(msgspec.Struct):
    choices: list[WireChoice]
    id: str | None = None
    created: int | None = None
    model: str | None = None
    usage: WireUsage | None = None
    system_fingerprint: str | None = None
    service_tier: str | None = None


class WireDelta(msgspec.Struct):
    role: str | None = None
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[WireToolCall] | None = None


class WireChunkChoice(msgspec.Struct):
    index: int = 0
    delta: WireDelta | None = None
    finish_reason: str | None = None
    logprobs: ChoiceLogprobs | None = None


class WireGroqExtra(msgspec.Struct):
    usage: WireUsage | None = None


class WireErrorBody(msgspec.Struct):
    message: str | None = None
    type: str | None = None
    param: str | None = None
    # Mostly a string; OpenRouter and some proxies send the HTTP status as a number.
    code: str | int | None = None


class WireChunk(msgspec.Struct):
    choices: list[WireChunkChoice] = []
    id: str | None = None
    created: int | None = None
    model: str | None = None
    usage: WireUsage | None = None
    system_fingerprint: str | None = None
    service_tier: str | None = None
    x_groq: WireGroqExtra | None = None
    error: WireErrorBody | None = None


class WireErrorEnvelope(msgspec.Struct):
    error: WireErrorBody | str | None = None


# Finish reasons some OpenAI-compatible servers use, mapped onto the canonical set.
_FINISH: Mapping[str, FinishReason] = MappingProxyType({
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "content_filter": "content_filter",
    "function_call": "function_call",
    "eos": "stop",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_length": "length",
    "insufficient_system_resource": "length",
    "tool_use": "tool_calls",
})


def finish_reason(raw: str | None) -> FinishReason | None:
    """The canonical finish reason; an unknown non-null reason counts as a plain stop."""
    if raw is None:
        return None
    return _FINISH.get(raw, "stop")
