"""The SIGHUP validation step of `portico serve`: a valid file is taken, an invalid one is
logged once by setting path and audited, and the config in service stays."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from portico.cli.serve import Reloader
from portico.config.loader import load_config
from portico.server.config_audit import REJECTED, ConfigOrigin
from portico.store import open_store

SECRET = "sk-reload-LEAK-31415926"


def write(path: Path, tmp: Path, provider: str = "openai") -> None:
    path.write_text(
        "master_key: env:RL_MASTER\n"
        f'store: {{url: "sqlite:///{tmp}/rl.db"}}\n'
        "providers: {openai: {keys: [{id: k1, key: env:RL_OPENAI}]}}\n"
        f"models: [{{name: m, deployments: [{{provider: {provider}, model: gpt-4o}}]}}]\n")


async def rejected(tmp: Path) -> list[dict[str, object]]:
    store = await open_store(f"sqlite:///{tmp}/rl.db")
    try:
        await store.migrate()
        return [s.event.detail for s in await store.list_audit() if s.event.action == REJECTED]
    finally:
        await store.close()


@pytest.fixture
def cfg_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RL_MASTER", SECRET)
    monkeypatch.setenv("RL_OPENAI", SECRET + "-upstream")
    path = tmp_path / "portico.yaml"
    write(path, tmp_path)
    return path


async def test_valid_file_is_taken(cfg_file: Path, tmp_path: Path) -> None:
    reloader = Reloader(ConfigOrigin(str(cfg_file)), load_config(cfg_file))
    write(cfg_file, tmp_path)
    cfg_file.write_text(cfg_file.read_text() + "server: {port: 4100}\n")
    assert await reloader.validate()
    assert reloader.current.server.port == 4100
    assert reloader.origin.how == "sighup"
    assert await rejected(tmp_path) == []


async def test_invalid_file_is_logged_once_audited_and_not_taken(
        cfg_file: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    before = load_config(cfg_file)
    reloader = Reloader(ConfigOrigin(str(cfg_file)), before)
    await rejected(tmp_path)   # migrate the store the gateway would have created
    write(cfg_file, tmp_path, provider="nope")
    with caplog.at_level(logging.ERROR, logger="portico.reload"):
        assert not await reloader.validate()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "models[0].deployments[0].provider" in errors[0].getMessage()
    assert reloader.current is before
    events = await rejected(tmp_path)
    assert len(events) == 1
    assert events[0]["error_path"] == "models[0].deployments[0].provider"
    assert SECRET not in json.dumps(events) + caplog.text


async def test_missing_master_secret_is_rejected(cfg_file: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    await rejected(tmp_path)
    reloader = Reloader(ConfigOrigin(str(cfg_file)), load_config(cfg_file))
    monkeypatch.delenv("RL_MASTER")
    assert not await reloader.validate()
    assert [e["error_path"] for e in await rejected(tmp_path)] == ["master_key"]


async def test_an_unexpected_error_is_rejected_without_its_message(
        cfg_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    await rejected(tmp_path)
    reloader = Reloader(ConfigOrigin(str(cfg_file)), load_config(cfg_file))

    def boom() -> None:
        raise RuntimeError(SECRET)

    monkeypatch.setattr(reloader, "read", boom)
    assert not await reloader.validate()
    events = await rejected(tmp_path)
    assert [e["error"] for e in events] == ["(unknown): RuntimeError"]
