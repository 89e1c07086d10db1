"""What each simulated provider supplies to the shared request flow: routing, plans, errors."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from typing import Protocol

from portico.simulate.faults import Fault

JSON = b"application/json"
SSE = b"text/event-stream"
Headers = list[tuple[bytes, bytes]]

_REASONS = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    408: "Request Timeout", 409: "Conflict", 413: "Payload Too Large", 422: "Unprocessable Entity",
    429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Gateway Timeout", 529: "Overloaded",
}


class SimError(Exception):
    """A request the simulated provider rejects, rendered in its error format."""

    def __init__(self, status: int, message: str, kind: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind


@dataclass(slots=True)
class Plan:
    """The response to send when no fault intervenes. Stream frames are whole SSE events."""

    stream: bool
    body: bytes = b""
    frames: tuple[bytes, ...] | list[bytes] = ()
    content_type: bytes = JSON
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


@dataclass(slots=True)
class Prepared:
    """A validated request: its model and stream flag (for fault scoping) and how to answer."""

    model: str | None
    stream: bool
    build: Callable[[Fault | None, int], Plan]


# An endpoint turns the request body (and path parameters bound in) into a Prepared request.
Endpoint = Callable[[bytes, bytes], Prepared]


class Dialect(Protocol):
    name: str
    request_id_header: bytes
    auth_status: int

    def route(self, method: str, path: str) -> Endpoint | None: ...

    def auth_present(self, headers: dict[bytes, bytes], query: bytes) -> bool: ...

    def error(self, status: int, message: str, kind: str | None, fault: Fault | None) -> bytes: ...

    def error_frame(self, fault: Fault) -> bytes: ...

    def malformed_frame(self) -> bytes: ...


def reason(status: int) -> str:
    return _REASONS.get(status, "Error")


def retry_headers(fault: Fault | None) -> Headers:
    """Retry-After in the form the fault asks for: seconds, verbatim, HTTP-date or ms."""
    if fault is None:
        return []
    out: Headers = []
    if fault.retry_after is not None:
        value = fault.retry_after
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        out.append((b"retry-after", str(value).encode()))
    if fault.retry_after_date is not None:
        when = formatdate(time.time() + fault.retry_after_date, usegmt=True)
        out.append((b"retry-after", when.encode()))
    if fault.retry_after_ms is not None:
        out.append((b"retry-after-ms", str(fault.retry_after_ms).encode()))
    return out


def html_page(status: int) -> bytes:
    title = f"{status} {reason(status)}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    ).encode()
