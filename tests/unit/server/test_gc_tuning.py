"""The serving process freezes startup objects and raises GC thresholds once startup completes."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator

import pytest
from starlette.types import Message, Receive, Scope, Send

from portico.server import gc_tuning


@pytest.fixture
def restore_gc() -> Iterator[None]:
    before = gc.get_threshold()
    switch = sys.getswitchinterval()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)
    sys.setswitchinterval(switch)


async def test_tunes_after_lifespan_startup_only(restore_gc: None) -> None:
    sent: list[str] = []
    seen_at_send: list[tuple[int, int, int]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "lifespan.startup.complete"})

    async def send(message: Message) -> None:
        seen_at_send.append(gc.get_threshold())
        sent.append(message["type"])

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    gc.set_threshold(700, 10, 10)
    await gc_tuning.FreezeAfterStartup(app)({"type": "lifespan"}, receive, send)
    assert sent == ["lifespan.startup.complete"]
    assert seen_at_send == [(700, 10, 10)]          # the message goes out first
    assert gc.get_threshold() == (gc_tuning.GEN0_THRESHOLD, gc_tuning.GEN1_THRESHOLD,
                                  gc_tuning.GEN2_THRESHOLD)
    assert gc.get_freeze_count() > 0
    assert sys.getswitchinterval() == gc_tuning.SWITCH_INTERVAL_S


async def test_http_passes_through_untouched(restore_gc: None) -> None:
    seen: list[Send] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(send)

    async def send(message: Message) -> None:
        raise AssertionError("not called")

    async def receive() -> Message:
        return {"type": "http.request"}

    gc.set_threshold(700, 10, 10)
    await gc_tuning.FreezeAfterStartup(app)({"type": "http"}, receive, send)
    assert seen == [send] and gc.get_threshold() == (700, 10, 10)
