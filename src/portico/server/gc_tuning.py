"""Interpreter settings for a serving process: freeze what startup built, collect less often, and
hand the GIL back to the event loop sooner.

Profile evidence (docs/benchmarks.md): with the defaults, full collections re-traversed every
import-time and startup object (~150k) about once a second under load, 80-140 ms each, which
set the p99 and cost ~15% of CPU. Requests leave almost no cyclic garbage (refcounting frees it),
so fewer young collections lose nothing but traversal work.

The journal's store writes run on a worker thread (`store/_sqlite_batch.py`); while it hashes
the audit chain it holds the GIL, and the event loop waking up meanwhile waits for a forced
switch: the switch interval (5 ms by default) bounds that wait, so 1 ms bounds a flush's cost
to a request's tail latency. Switches happen only when two threads want the GIL at once.
"""

from __future__ import annotations

import gc
import sys

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Young-generation threshold: a collection per ~25k net allocations instead of 700.
GEN0_THRESHOLD = 25_000
GEN1_THRESHOLD = 20
GEN2_THRESHOLD = 20
SWITCH_INTERVAL_S = 0.001


def tune() -> None:
    """Move everything alive now to the permanent generation, raise the thresholds, shorten
    the GIL switch interval."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GEN0_THRESHOLD, GEN1_THRESHOLD, GEN2_THRESHOLD)
    sys.setswitchinterval(SWITCH_INTERVAL_S)


class FreezeAfterStartup:
    """ASGI wrapper: calls `tune()` once the app's lifespan startup (the gateway build) is
    complete, so the objects built there are frozen too; other scopes pass straight through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def send_then_tune(message: Message) -> None:
            await send(message)
            if message["type"] == "lifespan.startup.complete":
                tune()

        await self.app(scope, receive, send_then_tune)
