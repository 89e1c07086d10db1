"""Resolves secret references (`env:NAME`, `file:/path`); literal secrets are refused."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from portico.secret import Secret


class ConfigError(ValueError):
    """A configuration problem, with the dotted path of the offending setting."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


def resolve_secret(ref: str, path: str, env: Mapping[str, str] | None = None) -> Secret:
    environ = os.environ if env is None else env
    scheme, sep, rest = ref.partition(":")
    if not sep or scheme not in ("env", "file"):
        raise ConfigError(
            path, "secrets are given by reference only: 'env:VARIABLE' or 'file:/path'"
        )
    if scheme == "env":
        value = environ.get(rest)
        if not value:
            raise ConfigError(path, f"environment variable {rest!r} is not set or empty")
        return Secret(value)
    file = Path(rest)
    try:
        value = file.read_text().strip()
    except OSError as exc:
        raise ConfigError(path, f"cannot read secret file {rest!r}: {exc.strerror}") from exc
    if not value:
        raise ConfigError(path, f"secret file {rest!r} is empty")
    return Secret(value)
