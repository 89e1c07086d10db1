"""The canonical chat response (OpenAI's CreateChatCompletionResponse) and usage."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from portico.schema.chat import ToolCall

FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "function_call"]


class PromptTokensDetails(msgspec.Struct, omit_defaults=True):
    cached_tokens: int = 0
    audio_tokens: int | None = None
    # Tokens written to a provider's prompt cache (Anthropic cache_creation_input_tokens);
    # an extension field that clients ignore and the ledger bills at the cache-write price.
    cache_creation_tokens: int | None = None


class CompletionTokensDetails(msgspec.Struct, omit_defaults=True):
    reasoning_tokens: int = 0
    audio_tokens: int | None = None
    accepted_prediction_tokens: int | None = None
    rejected_prediction_tokens: int | None = None


class Usage(msgspec.Struct, omit_defaults=True):
    # No defaults on the counts: OpenAI requires all three even when zero, and omit_defaults
    # would drop a zero.
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: PromptTokensDetails | None = None
    completion_tokens_details: CompletionTokensDetails | None = None

    @property
    def cached_tokens(self) -> int:
        d = self.prompt_tokens_details
        return d.cached_tokens if d else 0

    @property
    def cache_write_tokens(self) -> int:
        d = self.prompt_tokens_details
        return (d.cache_creation_tokens or 0) if d else 0


class ResponseMessage(msgspec.Struct, omit_defaults=False):
    role: Literal["assistant"] = "assistant"
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[ToolCall] | msgspec.UnsetType = msgspec.UNSET
    annotations: list[dict[str, Any]] | msgspec.UnsetType = msgspec.UNSET


class TopLogprob(msgspec.Struct):
    token: str
    logprob: float
    bytes: list[int] | None = None


class TokenLogprob(msgspec.Struct):
    token: str
    logprob: float
    bytes: list[int] | None = None
    top_logprobs: list[TopLogprob] = []


class ChoiceLogprobs(msgspec.Struct):
    content: list[TokenLogprob] | None = None
    refusal: list[TokenLogprob] | None = None


class Choice(msgspec.Struct, omit_defaults=False):
    index: int
    message: ResponseMessage
    finish_reason: FinishReason | None
    logprobs: ChoiceLogprobs | None = None


# `object` is the struct tag so it is always encoded (omit_defaults would drop a defaulted
# field, and OpenAI's schema requires it).
class ChatResponse(msgspec.Struct, omit_defaults=True, tag_field="object", tag="chat.completion"):
    id: str
    created: int
    model: str
    choices: list[Choice]
    usage: Usage | None = None
    system_fingerprint: str | None = None
    service_tier: str | None = None
