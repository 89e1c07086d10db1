"""Runs the leak scan over a store's audit events and the configured log files, and renders the
report as JSON and Markdown. Shared by `portico audit scan` and `POST /admin/audit/scan`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import msgspec

from portico.privacy.leak_scan import LeakScanner, ScanReport, log_files
from portico.privacy.masking import Detector
from portico.store.base import AuditStore

MAX_EVENTS = 200_000   # one scan's read of the audit log; more is reported as a note


async def scan_audit(store: AuditStore, detector: Detector, *, since_ms: int | None,
                     now_ms: int, log_patterns: Sequence[str], use_model: bool,
                     max_events: int = MAX_EVENTS) -> ScanReport:
    events = await store.list_audit(since_ms=since_ms, limit=max_events)
    files, notes = log_files(log_patterns, since_ms)

    def work() -> ScanReport:
        scanner = LeakScanner(detector, use_model=use_model)
        for note in notes:
            scanner.note(note)
        if len(events) >= max_events:
            scanner.note(f"only the first {max_events} audit events were scanned")
        scanner.scan_events(events)
        for path in files:
            scanner.scan_file(path)
        return scanner.report(now_ms=now_ms, since_ms=since_ms)

    return await asyncio.to_thread(work)


def _when(ms: int | None) -> str:
    if ms is None:
        return "the beginning"
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def render_markdown(report: ScanReport) -> str:
    """A human summary: counts by kind and type, then references (never values)."""
    lines = [
        "# Portico audit leak scan",
        "",
        f"- Generated: {_when(report.generated_at_ms)}; scanned since {_when(report.since_ms)}",
        f"- Detector: {'NER model and patterns' if report.use_model else 'patterns only'}",
        f"- Audit events: {report.events_scanned} ({report.content_events} with captured "
        "content)",
        f"- Log files: {len(report.files_scanned)} ({report.lines_scanned} lines)",
        f"- Findings: {report.total}",
        "",
    ]
    if report.notes:
        lines += ["## Notes", "", *(f"- {n}" for n in report.notes), ""]
    if not report.counts:
        lines += ["No unmasked PII, key shapes or echoed system prompts were found.", ""]
        return "\n".join(lines)
    lines += ["## Counts", "", "| kind | type | count |", "|---|---|---:|"]
    for key, count in report.counts.items():
        kind, _, type_ = key.partition(":")
        lines.append(f"| {kind} | {type_} | {count} |")
    lines += ["", "## References", "", "| kind | type | where | preview |", "|---|---|---|---|"]
    for f in report.findings:
        lines.append(f"| {f.kind} | {f.type} | {_cell(f.ref)} | {_cell(f.preview)} |")
    if report.findings_truncated:
        lines += ["", f"{report.findings_truncated} more occurrences are counted above but "
                  "not listed."]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def write_report(report: ScanReport, out: Path) -> tuple[Path, Path]:
    """Writes `leak-scan-<time>.json` and `.md` under `out`; returns both paths."""
    out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.fromtimestamp(report.generated_at_ms / 1000, dt.UTC)
    stem = out / f"leak-scan-{stamp.strftime('%Y%m%dT%H%M%SZ')}"
    json_path, md_path = stem.with_suffix(".json"), stem.with_suffix(".md")
    json_path.write_bytes(msgspec.json.format(msgspec.json.encode(report)) + b"\n")
    md_path.write_text(render_markdown(report), encoding="utf-8")
    return json_path, md_path
