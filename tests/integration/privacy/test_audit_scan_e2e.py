"""Content capture stores masked text only; the leak scan finds planted PII, key shapes and an
echoed system prompt in captured events and a log file, via the CLI and the admin route."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import msgspec
import yaml
from click.testing import CliRunner

from portico.cli import main
from portico.config.model import AuditConfig, PiiConfig, PorticoConfig
from portico.store.records import AuditEvent
from tests.integration.privacy.conftest import Privacy, Tweak, privacy_gateway

SYSTEM = ("You are the billing assistant for Northwind. Never reveal the refund override "
          "procedure or the internal escalation ladder to customers under any circumstances.")
EMAIL = "olivia.brown@example.net"
OPENAI_KEY = "sk-proj-" + "A1b2C3d4E5f6G7h8J9k0" * 2
AWS_KEY = "AKIA" + "ABCDEFGHIJKLMNOP"
LEAKS = (EMAIL, OPENAI_KEY, AWS_KEY, "Northwind. Never reveal")


def capture(log: Path) -> Tweak:
    def tweak(cfg: PorticoConfig, urls: dict[str, str]) -> PorticoConfig:
        return msgspec.structs.replace(
            cfg, pii=PiiConfig(mode="detect", use_model=False),
            audit=AuditConfig(capture_content=True, log_files=[str(log)]))
    return tweak


def plant_log(path: Path) -> None:
    path.write_text("\n".join([
        '{"level":"info","msg":"request finished","status":200}',
        f'{{"level":"error","msg":"upstream said: invalid key {OPENAI_KEY}"}}',
        f'{{"level":"warning","msg":"retrying for {EMAIL}"}}',
        '{"level":"info","msg":"ok"}',
        f'{{"level":"error","msg":"model said: {SYSTEM}"}}',
        f"aws {AWS_KEY} loaded",
    ]) + "\n")


async def _traffic(p: Privacy) -> None:
    body = {"model": "gpt-4o-mini", "max_tokens": 60, "messages": [
        {"role": "system", "content": SYSTEM},
        # The simulator echoes the user's words: the reply repeats the system prompt.
        {"role": "user", "content": f"Repeat after me: {SYSTEM} Reply to {EMAIL}"}]}
    status, _ = await p.chat(body)
    assert status == 200
    # A leak the scan must find: an event carrying a raw address (as a buggy writer would).
    p.gateway.journal.submit_audit(AuditEvent(
        event_id="planted", ts_ms=int(p.gateway.clock.wall() * 1000), kind="admin",
        actor="master", action="note", detail={"comment": f"call {EMAIL} back"}))


def _assert_report(report: dict[str, object], log: Path) -> None:
    counts = report["counts"]
    assert isinstance(counts, dict)
    assert counts.get("secret:openai_style_key") == 1
    assert counts.get("secret:aws_access_key") == 1
    assert counts.get("pii:EMAIL", 0) >= 2            # the log line and the planted event
    assert counts.get("echo:SYSTEM_PROMPT_ECHO", 0) >= 2   # captured response and log line
    findings = report["findings"]
    assert isinstance(findings, list)
    refs = [str(f["ref"]) for f in findings]
    assert f"{log}:2" in refs and f"{log}:3" in refs and f"{log}:5" in refs
    assert any(r.startswith("audit seq") and "planted" in r for r in refs)
    assert any(r.startswith("audit seq") and "detail.response" in r
               for f, r in zip(findings, refs, strict=True) if f["kind"] == "echo")


async def test_capture_is_masked_and_the_scan_finds_the_planted_leaks(tmp_path: Path) -> None:
    log = tmp_path / "gateway.log"
    plant_log(log)
    async with privacy_gateway(tmp_path, capture(log)) as p:
        await _traffic(p)
        await p.drain()
        events = await p.gateway.store.list_audit()
        (content,) = [e.event for e in events if e.event.action == "chat.content"]
        stored = msgspec.json.encode(content).decode()
        assert EMAIL not in stored and "<EMAIL_1>" in stored
        assert content.detail["pii_mode"] == "detect"

        async with p.http.post(f"{p.root}/admin/audit/scan", json={"since": "1d"},
                               headers={"authorization": f"Bearer {p.master}"}) as r:
            assert r.status == 200, await r.text()
            raw = await r.text()
        async with p.http.post(f"{p.root}/admin/audit/scan", json={},
                               headers={"authorization": f"Bearer {p.key}"}) as r:
            assert r.status == 403    # admins only
        cfg_path = tmp_path / "portico.yaml"
        cfg_path.write_text(yaml.safe_dump({
            "store": {"url": p.gateway.config.store.url},
            "audit": {"log_files": [str(log)]}}))

    result = json.loads(raw)
    _assert_report(result["report"], log)
    for leak in LEAKS:
        assert leak not in raw

    out = tmp_path / "reports"
    args = ["audit", "scan", "--config", str(cfg_path), "--since", "7d", "--out", str(out),
            "--fail-on-findings"]
    cli = await asyncio.to_thread(CliRunner().invoke, main, args)
    assert cli.exit_code == 3, cli.output
    (json_file,) = out.glob("leak-scan-*.json")
    (md_file,) = out.glob("leak-scan-*.md")
    _assert_report(json.loads(json_file.read_text()), log)
    markdown = md_file.read_text()
    assert "| secret | aws_access_key | 1 |" in markdown
    for leak in LEAKS:
        assert leak not in markdown and leak not in json_file.read_text()
