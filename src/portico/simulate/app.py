"""ASGI app factory for a simulated upstream: control API, fault selection and the shared flow.

Control API (at the root, beside the provider paths): `GET|POST|DELETE /_sim/faults`,
`GET|DELETE /_sim/ledger`. A request's fault comes from its `x-sim-fault` header, else from
the first queued rule matching its model.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

import msgspec
from starlette.types import Receive, Scope, Send

from portico.simulate._dialect import (
    JSON,
    Dialect,
    Headers,
    Plan,
    SimError,
    html_page,
    retry_headers,
)
from portico.simulate._exchange import Exchange
from portico.simulate._streaming import stream_plan
from portico.simulate.anthropic_sim import AnthropicDialect
from portico.simulate.content import DEFAULT_CHUNKS
from portico.simulate.faults import Fault, FaultQueue, FaultSpecError, parse_fault, parse_rules
from portico.simulate.gemini_sim import GeminiDialect
from portico.simulate.ledger import DEFAULT_LEDGER_SIZE, SECRET_HEADERS, Ledger, LedgerEntry
from portico.simulate.openai_sim import OpenAIDialect

DialectName = Literal["openai", "anthropic", "gemini"]
_ENCODER = msgspec.json.Encoder()
_MALFORMED_BODY = b'{"id": "sim-malformed", "choices": [{"index": 0, "message": {"content": "'


def _make_dialect(name: DialectName, seed: int, chunks: int) -> Dialect:
    if name == "openai":
        return OpenAIDialect(seed=seed, chunks=chunks)
    if name == "anthropic":
        return AnthropicDialect(seed=seed, chunks=chunks)
    if name == "gemini":
        return GeminiDialect(seed=seed, chunks=chunks)
    raise ValueError(f"unknown dialect {name!r}")


class SimApp:
    """The ASGI callable. `ledger` and `faults` are live and may be driven from Python."""

    def __init__(
        self, dialect: Dialect, *, ledger: Ledger, faults: FaultQueue, seed: int = 0
    ) -> None:
        self.dialect = dialect
        self.ledger = ledger
        self.faults = faults
        self._id_prefix = f"sim{seed}-"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await _lifespan(receive, send)
            return
        if kind != "http":
            return
        if scope["path"].startswith("/_sim/"):
            # Control calls are not upstream traffic: they stay out of the ledger.
            entry = LedgerEntry(seq=0, sim_id="control", request_id=None,
                                method=scope["method"], path=scope["path"])
            await self._control(Exchange(scope, receive, send, entry), scope["method"],
                                scope["path"])
            return
        headers: dict[bytes, bytes] = dict(scope["headers"])
        request_id = headers.get(b"x-portico-request-id") or headers.get(b"x-request-id")
        seq = self.ledger.next_seq()
        entry = LedgerEntry(
            seq=seq,
            sim_id=f"{self._id_prefix}{seq}",
            request_id=None if request_id is None else request_id.decode("latin-1"),
            method=scope["method"],
            path=scope["path"],
            headers={
                k.decode("latin-1"): v.decode("latin-1")
                for k, v in headers.items()
                if k not in SECRET_HEADERS
            },
            started_at=time.monotonic(),
        )
        self.ledger.record(entry)
        ex = Exchange(scope, receive, send, entry)
        try:
            await self._dispatch(ex, headers)
        finally:
            ex.close()
            entry.finished_at = time.monotonic()

    async def _dispatch(self, ex: Exchange, headers: dict[bytes, bytes]) -> None:
        path: str = ex.scope["path"]
        method: str = ex.scope["method"]
        entry = ex.entry
        query: bytes = ex.scope.get("query_string", b"")
        entry.auth_present = self.dialect.auth_present(headers, query)
        base = [(b"x-sim-id", entry.sim_id.encode()), (self.dialect.request_id_header,
                                                      f"req_{entry.sim_id}".encode())]
        body = await ex.read_body()
        if body:
            entry.body = msgspec.Raw(body) if _is_json(body) else None
        header_fault: Fault | None = None
        raw_fault = headers.get(b"x-sim-fault")
        try:
            if raw_fault is not None:
                header_fault = parse_fault(raw_fault)
            endpoint = self.dialect.route(method, path)
            if endpoint is None:
                raise SimError(404, f"Unknown request URL: {method} {path}", "not_found")
            if not entry.auth_present:
                raise SimError(self.dialect.auth_status, "", "auth")
            prepared = endpoint(body, query)
        except FaultSpecError as exc:
            await self._error(ex, base, SimError(400, str(exc)), None)
            return
        except SimError as exc:
            if header_fault is not None:
                await self._faulted(ex, base, header_fault, None)
            else:
                await self._error(ex, base, exc, None)
            return
        entry.model = prepared.model
        entry.stream = prepared.stream
        fault = header_fault if header_fault is not None else self.faults.take(prepared.model)
        entry.fault = fault
        if fault is None:
            await self._plain(ex, base, prepared.build(None, entry.seq))
            return
        await self._faulted(ex, base, fault, lambda: prepared.build(fault, entry.seq))

    async def _plain(self, ex: Exchange, base: Headers, plan: Plan) -> None:
        ex.entry.prompt_tokens = plan.prompt_tokens
        ex.entry.completion_tokens = plan.completion_tokens
        if plan.stream:
            await stream_plan(ex, base, plan, self.dialect, None)
            return
        await ex.respond(200, [(b"content-type", plan.content_type), *base], plan.body)

    async def _faulted(
        self, ex: Exchange, base: Headers, fault: Fault, build: Callable[[], Plan] | None
    ) -> None:
        if fault.reset:
            await ex.drop(reset=True)
            return
        if fault.latency_ms and await ex.pause(fault.latency_ms / 1000.0):
            return
        if fault.hang:
            await ex.wait_disconnect()
            return
        if fault.html:
            status = fault.status or 502
            page = html_page(status)
            await ex.respond(status, [(b"content-type", b"text/html"), *base], page)
            return
        if fault.status is not None and fault.status >= 400:
            await self._error(ex, base, SimError(fault.status, fault.message or ""), fault)
            return
        if build is None:
            return
        plan: Plan = build()
        ex.entry.prompt_tokens = plan.prompt_tokens
        ex.entry.completion_tokens = plan.completion_tokens
        if plan.stream:
            await stream_plan(ex, base, plan, self.dialect, fault)
            return
        headers = [(b"content-type", plan.content_type), *base]
        if fault.malformed:
            await ex.respond(200, headers, _MALFORMED_BODY)
            return
        if fault.cut_after is not None:
            headers.append((b"content-length", str(len(plan.body)).encode()))
            await ex.start(200, headers)
            await ex.chunk(plan.body[: len(plan.body) // 2])
            await ex.drop(reset=False)
            return
        await ex.respond(200, headers, plan.body)

    async def _error(self, ex: Exchange, base: Headers, err: SimError, fault: Fault | None) -> None:
        kind = fault.error_type if fault is not None and fault.error_type else err.kind
        body = self.dialect.error(err.status, err.message, kind, fault)
        headers = [(b"content-type", JSON), *base, *retry_headers_for(self.dialect, fault)]
        await ex.respond(err.status, headers, body)

    async def _control(self, ex: Exchange, method: str, path: str) -> None:
        body = await ex.read_body()
        headers: Headers = [(b"content-type", JSON)]
        if path == "/_sim/faults":
            if method == "POST":
                try:
                    rules = parse_rules(body)
                except FaultSpecError as exc:
                    await ex.respond(400, headers, _ENCODER.encode({"error": str(exc)}))
                    return
                self.faults.push(*rules)
            elif method == "DELETE":
                self.faults.clear()
            await ex.respond(200, headers, _ENCODER.encode({"pending": self.faults.pending()}))
            return
        if path == "/_sim/ledger":
            if method == "DELETE":
                self.ledger.clear()
            payload = {"total": self.ledger.total, "entries": self.ledger.entries()}
            await ex.respond(200, headers, _ENCODER.encode(payload))
            return
        await ex.respond(404, headers, _ENCODER.encode({"error": f"no control path {path}"}))


def retry_headers_for(dialect: Dialect, fault: Fault | None) -> Headers:
    # Gemini advertises its wait in the body (RetryInfo), not in a header.
    return [] if dialect.name == "gemini" else retry_headers(fault)


def _is_json(body: bytes) -> bool:
    try:
        msgspec.json.decode(body)
    except msgspec.DecodeError:
        return False
    return True


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        msg = await receive()
        if msg["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif msg["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def build_app(
    dialect: DialectName,
    *,
    seed: int = 0,
    ledger_size: int = DEFAULT_LEDGER_SIZE,
    chunks: int = DEFAULT_CHUNKS,
) -> SimApp:
    """A simulated upstream for `dialect`; deterministic for a given `seed`."""
    return SimApp(
        _make_dialect(dialect, seed, chunks),
        ledger=Ledger(ledger_size),
        faults=FaultQueue(),
        seed=seed,
    )
