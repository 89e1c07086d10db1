"""Running a simulated upstream: in-process (`Simulator`) for tests, or blocking (`serve`).

Both use uvicorn with a protocol subclass that exposes the connection's transport to the app,
so the `reset` and `cut_after` faults can drop connections for real.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Self

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from portico.simulate._exchange import TRANSPORT_EXTENSION
from portico.simulate.app import DialectName, SimApp, build_app
from portico.simulate.content import DEFAULT_CHUNKS
from portico.simulate.faults import FaultQueue
from portico.simulate.ledger import DEFAULT_LEDGER_SIZE, Ledger

_API_PREFIX: dict[str, str] = {"openai": "/v1", "anthropic": "/v1", "gemini": "/v1beta"}


class SimHttpProtocol(HttpToolsProtocol):
    """httptools protocol that hands each request its transport (for simulated resets)."""

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope["extensions"] = {TRANSPORT_EXTENSION: {"transport": self.transport}}


def _config(app: SimApp, host: str, port: int, *, loop: str = "auto") -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        loop=loop,
        http=SimHttpProtocol,
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
    )


class Simulator:
    """`async with Simulator("openai") as sim:` serves on 127.0.0.1 at an ephemeral port."""

    def __init__(
        self,
        dialect: DialectName,
        *,
        seed: int = 0,
        ledger_size: int = DEFAULT_LEDGER_SIZE,
        chunks: int = DEFAULT_CHUNKS,
        host: str = "127.0.0.1",
    ) -> None:
        self.dialect = dialect
        self.app = build_app(dialect, seed=seed, ledger_size=ledger_size, chunks=chunks)
        self._host = host
        self._server = uvicorn.Server(_config(self.app, host, 0))
        self._task: asyncio.Task[None] | None = None
        self.port = 0

    @property
    def ledger(self) -> Ledger:
        return self.app.ledger

    @property
    def faults(self) -> FaultQueue:
        return self.app.faults

    @property
    def root_url(self) -> str:
        """Scheme, host and port only (what the Anthropic SDK takes as base_url)."""
        return f"http://{self._host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The API base: root + /v1 (openai, anthropic) or /v1beta (gemini)."""
        return self.root_url + _API_PREFIX[self.dialect]

    async def __aenter__(self) -> Self:
        server = self._server
        config = server.config
        if not config.loaded:
            config.load()
        server.lifespan = config.lifespan_class(config)
        await server.startup()
        if server.should_exit or not server.servers:
            raise RuntimeError(f"simulated {self.dialect} upstream failed to start")
        self.port = server.servers[0].sockets[0].getsockname()[1]
        self._task = asyncio.create_task(server.main_loop(), name=f"sim-{self.dialect}")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        server = self._server
        server.should_exit = True
        if self._task is not None:
            await self._task
        # Drop connections still held by hung or slow requests; they see a disconnect and end.
        for conn in list(server.server_state.connections):
            transport = getattr(conn, "transport", None)
            if isinstance(transport, asyncio.Transport):
                transport.close()
        await server.shutdown()


def serve(dialect: DialectName, host: str = "127.0.0.1", port: int = 8900, *,
          seed: int = 0) -> None:
    """Serve a simulated upstream until interrupted (uvloop + httptools)."""
    app = build_app(dialect, seed=seed)
    uvicorn.Server(_config(app, host, port, loop="uvloop")).run()
