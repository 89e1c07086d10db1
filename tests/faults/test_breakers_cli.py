"""`portico breakers` against a running gateway's admin route (master key from the env)."""

from __future__ import annotations

import asyncio

import pytest
from click.testing import CliRunner

from portico.cli import main
from tests.faults.conftest import Env


async def test_cli_shows_breaker_states(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    env.push(status=500, model="solo-m")
    await env.chat("solo")
    master = env.gw.master
    assert master is not None
    monkeypatch.setenv("PORTICO_MASTER_KEY", master.reveal())
    result = await asyncio.to_thread(CliRunner().invoke, main, ["breakers", "--url", env.root])
    assert result.exit_code == 0, result.output
    assert "openai/solo-m@k1" in result.output and "closed" in result.output
    monkeypatch.setenv("PORTICO_MASTER_KEY", "sk-wrong")
    denied = await asyncio.to_thread(CliRunner().invoke, main, ["breakers", "--url", env.root])
    assert denied.exit_code != 0 and "HTTP 401" in denied.output
