"""A demo gateway (three simulators, SQLite) on its own event loop thread, for sync callers
such as schemathesis' requests-based runner."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from portico.config.model import PorticoConfig
from tests.support.gateway import Running, demo_gateway

T = TypeVar("T")


class ThreadedGateway:
    def __init__(self, tmp: Path, config: PorticoConfig | None = None) -> None:
        self._tmp = tmp
        self._config = config
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="gateway", daemon=True)
        self.running: Running | None = None

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as exc:  # noqa: BLE001 - surfaced to the test thread in start()
            self._error = exc
            self._ready.set()
        finally:
            self._loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        async with demo_gateway(self._tmp, config=self._config) as running:
            self.running = running
            self._ready.set()
            await self._stop.wait()

    def start(self) -> Running:
        self._thread.start()
        if not self._ready.wait(60) or self.running is None:
            raise RuntimeError(f"gateway did not start: {self._error!r}")
        return self.running

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(30)

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)
