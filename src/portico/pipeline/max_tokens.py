"""The per-key output ceiling (`KeySettings.max_tokens_cap`): cap the request or reject it.

The executor fills the deployment default when a client sends no `max_tokens`; this hook makes
sure that default never exceeds the key's cap either, so every upstream call carries a bound.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from portico.errors import InvalidRequest
from portico.pipeline.context import RequestContext
from portico.pipeline.hooks import BaseHook
from portico.schema.chat import ChatRequest
from portico.store.records import KeyRecord

# The largest deployment default for a model name (None when it does not resolve).
DefaultFor = Callable[[str], int | None]


def capped_output(key: KeyRecord | None, requested: int | None, default: int) -> int:
    """The output ceiling the upstream will see: the request's, else the deployment default,
    never above the key's cap."""
    wanted = requested if requested is not None else default
    cap = key.settings.max_tokens_cap if key is not None else None
    return wanted if cap is None else min(wanted, cap)


class MaxTokensHook(BaseHook):
    name = "max_tokens"

    def __init__(self, default_for: DefaultFor) -> None:
        self._default_for = default_for

    async def before(self, ctx: RequestContext, req: ChatRequest) -> ChatRequest:
        key = ctx.key
        cap = key.settings.max_tokens_cap if key is not None else None
        if cap is None:
            return req
        asked = req.output_cap
        if asked is None:
            default = self._default_for(req.model)
            if default is not None and default <= cap:
                return req
            return msgspec.structs.replace(req, max_tokens=cap)
        if asked <= cap:
            return req
        if key is not None and key.settings.max_tokens_over_cap == "reject":
            field = "max_completion_tokens" if req.max_completion_tokens is not None \
                else "max_tokens"
            raise InvalidRequest(f"{field} {asked} exceeds this key's cap of {cap}",
                                 param=field, code="max_tokens_over_cap")
        if req.max_completion_tokens is not None:
            return msgspec.structs.replace(req, max_completion_tokens=cap,
                                           max_tokens=None if req.max_tokens is None
                                           else min(req.max_tokens, cap))
        return msgspec.structs.replace(req, max_tokens=cap)
