"""Config loading shared by the CLI commands, with errors printed as one clear line."""

from __future__ import annotations

import os
from pathlib import Path

import click

from portico.adapters.providers import builtin_providers
from portico.config.loader import config_from_environment, load_config
from portico.config.model import PorticoConfig
from portico.config.secrets import ConfigError

DEFAULT_CONFIG = "portico.yaml"


def load(path: str | None) -> PorticoConfig:
    """The config from `path`, else ./portico.yaml, else from standard key variables."""
    try:
        if path is not None:
            return load_config(Path(path))
        env_path = os.environ.get("PORTICO_CONFIG")
        if env_path:
            return load_config(Path(env_path))
        if Path(DEFAULT_CONFIG).exists():
            return load_config(Path(DEFAULT_CONFIG))
        env_keys = {n: s.env_key for n, s in builtin_providers().items() if s.env_key}
        return config_from_environment(env_keys)
    except ConfigError as exc:
        raise click.ClickException(f"invalid configuration: {exc}") from exc


config_option = click.option("--config", "config_path", type=click.Path(dir_okay=False),
                             default=None, help="Path to portico.yaml.")
