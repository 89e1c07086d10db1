"""`portico audit scan`: look for unmasked PII, provider keys and echoed system prompts in the
audit log, captured content and the gateway's log files; write a JSON and a Markdown report."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import re
from pathlib import Path

import click

from portico.cli._common import config_option, load
from portico.config.model import PorticoConfig
from portico.config.secrets import ConfigError
from portico.pipeline.pii_hook import detector_config
from portico.privacy.audit_scan import render_markdown, scan_audit, write_report
from portico.privacy.detector import DetectorUnavailable
from portico.privacy.leak_scan import ScanReport
from portico.privacy.masking import Detector
from portico.store import open_store

_SPAN = re.compile(r"^(\d+)([dhm])$")
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60}


def since_ms(span: str | None, now_ms: int) -> int | None:
    """`7d`, `12h`, `30m` before `now_ms`; None scans everything."""
    if span is None:
        return None
    m = _SPAN.match(span.strip())
    if not m:
        raise ValueError("use a span like 7d, 12h or 30m")
    return now_ms - int(m.group(1)) * _UNIT_SECONDS[m.group(2)] * 1000


def scan_detector(cfg: PorticoConfig, use_model: bool) -> Detector:
    """The configured detector's entities and pipeline; patterns only unless `use_model`."""
    from portico.privacy.detector import PiiDetector  # Presidio: imported only when scanning
    return PiiDetector(dataclasses.replace(detector_config(cfg.pii), use_model=use_model))


async def run(cfg: PorticoConfig, since: str | None, use_model: bool,
              extra_logs: tuple[str, ...]) -> ScanReport:
    now = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
    start = since_ms(since, now)
    detector = await asyncio.to_thread(scan_detector, cfg, use_model)
    store = await open_store(cfg.store.url)
    try:
        await store.migrate()
        return await scan_audit(store, detector, since_ms=start, now_ms=now,
                                log_patterns=[*cfg.audit.log_files, *extra_logs],
                                use_model=use_model)
    finally:
        await store.close()


@click.command("scan")
@config_option
@click.option("--since", default="7d", show_default=True,
              help="How far back: 7d, 24h, 30m (audit events by time, log files by mtime).")
@click.option("--model", "use_model", is_flag=True,
              help="Also run the NER model (names, places); slower. Default: patterns only.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Write leak-scan-<time>.json and .md into this folder.")
@click.option("--log", "extra_logs", multiple=True,
              help="Another log file (or glob) to scan, besides audit.log_files.")
@click.option("--fail-on-findings", is_flag=True, help="Exit with status 3 if anything found.")
def audit_scan(config_path: str | None, since: str, use_model: bool, out_dir: str | None,
               extra_logs: tuple[str, ...], fail_on_findings: bool) -> None:
    """Scan audit events, captured content and log files for leaks (never prints values)."""
    cfg = load(config_path)
    try:
        report = asyncio.run(run(cfg, since, use_model, extra_logs))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from exc
    except (ConfigError, DetectorUnavailable) as exc:
        raise click.ClickException(str(exc)) from exc
    if out_dir is not None:
        json_path, md_path = write_report(report, Path(out_dir))
        click.echo(f"{report.total} findings; report: {md_path} and {json_path}")
    else:
        click.echo(render_markdown(report), nl=False)
    if fail_on_findings and report.total:
        raise SystemExit(3)
