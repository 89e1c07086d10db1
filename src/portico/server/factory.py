"""Import-string app factory for multi-worker uvicorn: reads the config named by the env."""

from __future__ import annotations

from starlette.types import ASGIApp

from portico.cli._common import load
from portico.server.app import create_app
from portico.server.config_audit import ConfigOrigin
from portico.server.gc_tuning import FreezeAfterStartup


def app_from_environment() -> ASGIApp:
    return FreezeAfterStartup(create_app(load(None), origin=ConfigOrigin.resolve(None)))
