"""Tracks the input share of tokens per key and per model in this process (finalize only), so
the admin route can show live over-prompting flags without a ledger scan."""

from __future__ import annotations

from portico.accounting.overprompt import InputShare, InputShareWindow
from portico.clock import Clock
from portico.pipeline.context import RequestContext
from portico.pipeline.hooks import BaseHook, Outcome


class OverPromptHook(BaseHook):
    name = "overprompt"

    def __init__(self, clock: Clock, window: InputShareWindow | None = None) -> None:
        self._clock = clock
        self.window = window or InputShareWindow()

    async def finalize(self, ctx: RequestContext, outcome: Outcome) -> None:
        usage = ctx.usage
        # Embeddings are all input by nature: counting them would flag every embedding user.
        if usage is None or ctx.status != "ok" or ctx.endpoint == "embeddings":
            return
        now = self._clock.wall()
        if ctx.key_id is not None:
            self.window.add("key", ctx.key_id, now, usage.prompt_tokens, usage.completion_tokens)
        self.window.add("model", ctx.model_requested, now, usage.prompt_tokens,
                        usage.completion_tokens)

    def report(self) -> list[InputShare]:
        return self.window.report(self._clock.wall())
