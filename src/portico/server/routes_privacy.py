"""`POST /admin/audit/scan`: the leak scan over this gateway's store and log files.

Returns the JSON report (with its Markdown rendering); writes no files, so a caller cannot
choose a path on the server. The scan itself is recorded as an admin audit event.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import TYPE_CHECKING

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from portico.errors import InvalidRequest
from portico.pipeline.pii_hook import detector_config
from portico.privacy.audit_scan import render_markdown, scan_audit
from portico.privacy.leak_scan import ScanReport
from portico.privacy.masking import Detector
from portico.server.body import decode, read_body
from portico.server.principal import Principal
from portico.store.records import AuditEvent

if TYPE_CHECKING:
    from portico.server.gateway import Gateway

_UNIT_MS = {"d": 86_400_000, "h": 3_600_000, "m": 60_000}


class ScanParams(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    since: str | None = "7d"      # 7d, 24h, 30m; null scans everything
    model: bool = False           # also run the NER model (slower)


class ScanResult(msgspec.Struct, kw_only=True):
    report: ScanReport
    markdown: str


def _since_ms(span: str | None, now_ms: int) -> int | None:
    if span is None:
        return None
    amount, unit = span[:-1], span[-1:]
    if not amount.isdigit() or unit not in _UNIT_MS:
        raise InvalidRequest("since must look like 7d, 24h or 30m", param="since")
    return now_ms - int(amount) * _UNIT_MS[unit]


def _detector(gw: Gateway, use_model: bool) -> Detector:
    from portico.privacy.detector import PiiDetector  # Presidio: imported only when scanning
    return PiiDetector(dataclasses.replace(detector_config(gw.config.pii), use_model=use_model))


async def audit_scan(gw: Gateway, request: Request, principal: Principal) -> Response:
    raw = await read_body(request, 4096)
    params = decode(raw, ScanParams, 4) if raw.strip() else ScanParams()
    now = int(gw.clock.wall() * 1000)
    start = _since_ms(params.since, now)
    ready = gw.detectors.ready if gw.detectors is not None else None
    detector = ready if ready is not None and params.model == gw.config.pii.use_model \
        else await asyncio.to_thread(_detector, gw, params.model)
    report = await scan_audit(gw.store, detector, since_ms=start, now_ms=now,
                              log_patterns=gw.config.audit.log_files, use_model=params.model)
    gw.journal.submit_audit(AuditEvent(
        event_id=request.state.request_id, ts_ms=now, kind="admin", actor=principal.actor,
        action="audit.scan", detail={"since_ms": start, "model": params.model,
                                     "findings": report.total, "counts": report.counts}))
    body = ScanResult(report=report, markdown=render_markdown(report))
    return Response(msgspec.json.encode(body), media_type="application/json")
