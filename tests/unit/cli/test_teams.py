"""`portico teams` on a temp SQLite store: create, list, show, archive, each audited; and
`portico keys create` refuses a team neither stored nor configured."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from portico.cli import main

MASTER_VAR = "PORTICO_TEST_TEAMS_MASTER"


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(MASTER_VAR, "sk-master-teams-cli-test")
    path = tmp_path / "portico.yaml"
    path.write_text(yaml.safe_dump({
        "master_key": f"env:{MASTER_VAR}",
        "store": {"url": f"sqlite:///{tmp_path}/store.db"},
        "limits": {"teams": {"ops": {"requests_per_minute": 30,
                                     "budget": {"monthly_usd": 100}}}},
    }))
    return path


def run(config: Path, *args: str, ok: bool = True) -> str:
    result = CliRunner().invoke(main, [*args, "--config", str(config)])
    assert (result.exit_code == 0) is ok, result.output
    return result.output


def test_teams_commands(config: Path, tmp_path: Path) -> None:
    out = run(config, "teams", "create", "--name", "red", "--rpm", "5",
              "--budget-daily-usd", "12.50", "--models", "gpt-4o,claude-*")
    team_id, name = out.strip().split("\t")
    assert team_id.startswith("team_") and name == "red"
    assert "already exists" in run(config, "teams", "create", "--name", "red", ok=False)
    assert "positive" in run(config, "teams", "create", "--name", "x", "--rpm", "0", ok=False)

    assert [line.split("\t")[:3] for line in run(config, "teams", "list").splitlines()] == [
        ["-", "ops", "active"], [team_id, "red", "active"]]
    shown = json.loads(run(config, "teams", "show", "red"))
    assert shown["team"]["settings"] == {"requests_per_minute": 5,
                                         "budget_micros_daily": 12_500_000,
                                         "allowed_models": ["gpt-4o", "claude-*"]}
    ops = json.loads(run(config, "teams", "show", "ops"))
    assert ops["team"] is None and ops["effective"]["budget_micros_monthly"] == 100_000_000
    assert "no team" in run(config, "teams", "show", "nobody", ok=False)

    assert run(config, "teams", "archive", "red").strip() == "archived red"
    assert "no active" in run(config, "teams", "archive", "red", ok=False)
    assert [line.split("\t")[1] for line in run(config, "teams", "list").splitlines()] == \
        ["ops"]
    assert "archived" in run(config, "teams", "list", "--all")

    with sqlite3.connect(tmp_path / "store.db") as db:
        rows = db.execute("SELECT action, target, actor FROM audit_events ORDER BY seq").fetchall()
    assert rows == [("team.create", "team:red", "cli"), ("team.archive", "team:red", "cli")]
    assert json.loads(run(config, "audit", "verify"))["ok"] is True


def test_keys_create_needs_a_known_team(config: Path) -> None:
    assert "'ghosts' does not exist" in run(config, "keys", "create", "--name", "k",
                                            "--team", "ghosts", ok=False)
    assert run(config, "keys", "create", "--name", "k", "--team", "ops").startswith("vk_")
    run(config, "teams", "create", "--name", "red")
    assert run(config, "keys", "create", "--name", "k", "--team", "red").startswith("vk_")
    run(config, "teams", "archive", "red")
    assert "archived" in run(config, "keys", "create", "--name", "k", "--team", "red", ok=False)
