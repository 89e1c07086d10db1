"""`portico serve`, `portico check-config` and `portico simulate`."""

from __future__ import annotations

import asyncio
import os

import click
import uvicorn
from starlette.types import ASGIApp

from portico.adapters.providers import builtin_providers
from portico.cli._common import config_option, load
from portico.config.model import PorticoConfig
from portico.config.secrets import ConfigError
from portico.routing.catalog import build_catalog
from portico.server.app import create_app
from portico.server.gc_tuning import FreezeAfterStartup


def uvicorn_config(app: ASGIApp, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, loop="uvloop", http="httptools",
                          lifespan="on", access_log=False, log_level="warning",
                          timeout_graceful_shutdown=10)


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
    host = host or cfg.server.host
    port = port or cfg.server.port
    n = workers or cfg.server.workers
    click.echo(f"portico listening on http://{host}:{port} ({n} worker(s))")
    if n > 1:
        if config_path:
            os.environ["PORTICO_CONFIG"] = config_path
        uvicorn.run("portico.server.factory:app_from_environment", factory=True, host=host,
                    port=port, workers=n, loop="uvloop", http="httptools", access_log=False,
                    log_level="warning")
        return
    server = uvicorn.Server(uvicorn_config(FreezeAfterStartup(create_app(cfg)), host, port))
    server.run()


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
