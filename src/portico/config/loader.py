"""Loads `portico.yaml` into the typed config, or builds one from standard key variables."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import msgspec
import yaml

from portico.config.model import PorticoConfig, ProviderConfig, UpstreamKeyConfig
from portico.config.secrets import ConfigError

# msgspec reports paths as `$.models[0].deployments[1]`; we show `models[0].deployments[1]`.
_PATH = re.compile(r" - at `\$\.?([^`]*)`$")


def parse_config(text: str, source: str = "portico.yaml") -> PorticoConfig:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "?"
        raise ConfigError(f"{source}:{where}", "not valid YAML") from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(source, "the top level must be a mapping")
    try:
        return msgspec.convert(raw, PorticoConfig)
    except msgspec.ValidationError as exc:
        message = str(exc)
        match = _PATH.search(message)
        path = match.group(1) if match else "(top level)"
        detail = _PATH.sub("", message)
        raise ConfigError(path or "(top level)", detail) from exc


def load_config(path: Path) -> PorticoConfig:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read config file: {exc.strerror}") from exc
    return parse_config(text, str(path))


def config_from_environment(
    env_keys: Mapping[str, str], environ: Mapping[str, str] | None = None
) -> PorticoConfig:
    """With no file: one provider per standard key variable that is set (OPENAI_API_KEY, ...).

    `env_keys` maps provider name to its variable, taken from the provider specs.
    """
    env = os.environ if environ is None else environ
    providers = {
        name: ProviderConfig(keys=[UpstreamKeyConfig(id="default", key=f"env:{var}")])
        for name, var in sorted(env_keys.items())
        if env.get(var)
    }
    master = "env:PORTICO_MASTER_KEY" if env.get("PORTICO_MASTER_KEY") else None
    store_url = env.get("PORTICO_STORE_URL")
    cfg = PorticoConfig(providers=providers, master_key=master)
    if store_url:
        cfg = msgspec.structs.replace(
            cfg, store=msgspec.structs.replace(cfg.store, url=store_url)
        )
    return cfg
