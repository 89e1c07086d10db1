"""`portico serve` (with config reload on SIGHUP), `portico check-config` and `portico simulate`.

SIGHUP re-reads and validates the config first; an invalid file is refused (logged, audited) and
the old config keeps serving. A valid one: with 2+ workers uvicorn's supervisor replaces the
workers one by one on the shared socket; with 1 worker the server drains, closes the gateway
(journal flushed) and re-execs the same command line, a short gap without a listener.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from pathlib import Path
from socket import socket

import click
import uvicorn
from starlette.types import ASGIApp
from uvicorn.supervisors import Multiprocess

from portico.adapters.providers import builtin_providers
from portico.cli._common import config_option, load
from portico.config.loader import config_from_environment, load_config
from portico.config.model import PorticoConfig
from portico.config.secrets import ConfigError, resolve_secret
from portico.routing.catalog import build_catalog
from portico.server.app import create_app
from portico.server.config_audit import ENVIRONMENT, TRIGGER_ENV, ConfigOrigin, rejected_event
from portico.server.gc_tuning import FreezeAfterStartup
from portico.server.http_protocol import CoalescingHttpToolsProtocol
from portico.store import open_store

log = logging.getLogger("portico.reload")


def uvicorn_config(app: ASGIApp, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, loop="uvloop",
                          http=CoalescingHttpToolsProtocol, lifespan="on", access_log=False,
                          log_level="warning",
                          server_header=False, timeout_graceful_shutdown=10)


@click.command()
@config_option
@click.option("--host", default=None, help="Bind address (default from config: 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default from config: 4000).")
@click.option("--workers", type=int, default=None, help="Worker processes.")
@click.option("--demo", is_flag=True,
              help="Also start simulated OpenAI, Anthropic and Gemini upstreams and print a "
                   "demo key: try every endpoint with no provider keys.")
def serve(config_path: str | None, host: str | None, port: int | None, workers: int | None,
          demo: bool) -> None:
    """Start the gateway."""
    if demo:
        from portico.cli.demo import run_demo

        asyncio.run(run_demo(host or "127.0.0.1", port or 4000))
        return
    cfg = load(config_path)
    _check(cfg)
    # A process re-exec'd by a 1-worker reload says so; its own children are "startup" again.
    origin = ConfigOrigin.resolve(config_path, os.environ.pop(TRIGGER_ENV, None))
    host = host or cfg.server.host
    port = port or cfg.server.port
    n = workers or cfg.server.workers
    click.echo(f"portico listening on http://{host}:{port} ({n} worker(s))")
    reloader = Reloader(origin, cfg)
    if n > 1:
        if config_path:
            os.environ["PORTICO_CONFIG"] = config_path
        ucfg = uvicorn.Config("portico.server.factory:app_from_environment", factory=True,
                              host=host, port=port, workers=n, loop="uvloop",
                              http=CoalescingHttpToolsProtocol,
                              access_log=False, log_level="warning", server_header=False,
                              # A worker must answer the supervisor's ping (and a reload's
                              # replacement must be ready) within this; uvicorn's 5 s killed
                              # workers still importing on a busy host, in a loop.
                              timeout_worker_healthcheck=30)
        os.environ[TRIGGER_ENV] = origin.how   # the first workers learn how they started
        with contextlib.suppress(KeyboardInterrupt):
            ReloadingSupervisor(ucfg, [ucfg.bind_socket()], reloader).run()
        return
    app = FreezeAfterStartup(create_app(cfg, origin=origin))
    server = ReloadingServer(uvicorn_config(app, host, port), reloader)
    server.run()
    if server.reexec:
        # Lifespan shutdown has run: in-flight requests finished, journal flushed and closed.
        os.environ[TRIGGER_ENV] = "sighup"
        os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])  # noqa: S606


class Reloader:
    """Validates the config file on SIGHUP; a rejection is logged (the failing setting's path,
    never a value) and audited, and the config in service stays."""

    def __init__(self, origin: ConfigOrigin, current: PorticoConfig) -> None:
        self.origin = ConfigOrigin(origin.path, "sighup")
        self.current = current

    def read(self) -> PorticoConfig:
        """The config as a restarted process would load it (raises ConfigError)."""
        if self.origin.path == ENVIRONMENT:
            env_keys = {n: s.env_key for n, s in builtin_providers().items() if s.env_key}
            cfg = config_from_environment(env_keys)
        else:
            cfg = load_config(Path(self.origin.path))
        build_catalog(cfg, builtin_providers())   # resolves the upstream keys
        for name, ref in (("master_key", cfg.master_key),
                          ("key_hash_secret", cfg.key_hash_secret)):
            if ref:
                resolve_secret(ref, name)
        return cfg

    async def validate(self) -> bool:
        try:
            cfg = self.read()
        except ConfigError as exc:
            log.error("config reload rejected, still serving the previous config: %s", exc)
            await self._audit_rejection(exc)
            return False
        except Exception as exc:
            # Not a validation error we know (a bug); the supervisor must keep running, and
            # the message could quote a value, so the audit gets the type only.
            log.exception("config reload rejected, still serving the previous config")
            await self._audit_rejection(ConfigError("(unknown)", type(exc).__name__))
            return False
        self.current = cfg
        return True

    async def _audit_rejection(self, exc: ConfigError) -> None:
        event = rejected_event(self.origin, exc, int(time.time() * 1000))
        try:
            store = await open_store(self.current.store.url)
            try:
                await store.append_audit([event])
            finally:
                await store.close()
        except Exception:
            # The supervisor loop must survive a store outage; the error line above stands.
            log.exception("could not append %s to the audit log", event.action)


class ReloadingServer(uvicorn.Server):
    """One worker: a valid SIGHUP ends `run()` gracefully with `reexec` set."""

    def __init__(self, config: uvicorn.Config, reloader: Reloader) -> None:
        super().__init__(config)
        self.reloader = reloader
        self.reexec = False
        self._tasks: set[asyncio.Task[None]] = set()

    async def serve(self, sockets: list[socket] | None = None) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, self._hup)
        try:
            await super().serve(sockets)
        finally:
            loop.remove_signal_handler(signal.SIGHUP)

    def _hup(self) -> None:
        task = asyncio.get_running_loop().create_task(self._reload())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _reload(self) -> None:
        if self.should_exit or self.reexec:
            return
        if await self.reloader.validate():
            log.warning("config reload: draining, then restarting with %s",
                        self.reloader.origin.path)
            self.reexec = True
            self.should_exit = True


class ReloadingSupervisor(Multiprocess):
    """2+ workers: uvicorn already replaces workers one by one on SIGHUP, each new one ready
    before the old one stops; we validate first, and tell the new workers why they started."""

    def __init__(self, config: uvicorn.Config, sockets: list[socket], reloader: Reloader
                 ) -> None:
        super().__init__(config, sockets)
        self.reloader = reloader

    def init_processes(self) -> None:
        super().init_processes()
        os.environ.pop(TRIGGER_ENV, None)   # a worker respawned after a crash: "startup"

    def handle_hup(self) -> None:
        if not asyncio.run(self.reloader.validate()):
            return
        os.environ[TRIGGER_ENV] = "sighup"
        try:
            super().handle_hup()
        finally:
            os.environ.pop(TRIGGER_ENV, None)


def _check(cfg: PorticoConfig) -> None:
    try:
        build_catalog(cfg, builtin_providers())
    except ConfigError as exc:
        raise click.ClickException(f"invalid configuration: {exc}") from exc


@click.command("check-config")
@click.argument("path", type=click.Path(dir_okay=False))
def check_config(path: str) -> None:
    """Validate a config file without starting."""
    cfg = load(path)
    _check(cfg)
    click.echo(f"{path}: ok ({len(cfg.providers)} provider(s), {len(cfg.models)} model group(s))")


@click.command()
@click.option("--dialect", type=click.Choice(["openai", "anthropic", "gemini"]), required=True)
@click.option("--host", default="127.0.0.1")
@click.option("--port", type=int, default=8001)
def simulate(dialect: str, host: str, port: int) -> None:
    """Serve a simulated upstream with fault injection (see docs/simulate.md)."""
    from portico.simulate.runner import serve as serve_sim

    click.echo(f"simulated {dialect} upstream on http://{host}:{port}")
    serve_sim(dialect, host, port)  # type: ignore[arg-type]
