"""The simulator's ledger: one entry per request received, in a bounded ring buffer.

Auth headers are kept only as `auth_present`; their values never reach an entry.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

import msgspec

from portico.simulate.faults import Fault

# Headers whose values are credentials: recorded as present / absent only.
SECRET_HEADERS = frozenset(
    {b"authorization", b"x-api-key", b"x-goog-api-key", b"api-key", b"proxy-authorization"}
)
DEFAULT_LEDGER_SIZE = 10_000


class LedgerEntry(msgspec.Struct, kw_only=True):
    """One request as the simulator saw it; mutated while the response is under way."""

    seq: int
    sim_id: str
    request_id: str | None
    method: str
    path: str
    model: str | None = None
    stream: bool = False
    body: msgspec.Raw | None = None  # the received JSON, verbatim (None when not valid JSON)
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    auth_present: bool = False
    status: int | None = None
    chunks_sent: int = 0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    fault: Fault | None = None
    started_at: float = 0.0  # time.monotonic()
    finished_at: float | None = None
    disconnected: bool = False  # the client went away before the response completed
    disconnected_at: float | None = None  # time.monotonic() when that was detected

    def json_body(self) -> object:
        """The received body decoded (None when absent)."""
        return None if self.body is None else msgspec.json.decode(self.body)


class Ledger:
    """Bounded record of requests; `total` counts every request ever recorded."""

    __slots__ = ("_entries", "total")

    def __init__(self, maxlen: int = DEFAULT_LEDGER_SIZE) -> None:
        self._entries: deque[LedgerEntry] = deque(maxlen=maxlen)
        self.total = 0

    def record(self, entry: LedgerEntry) -> None:
        self._entries.append(entry)

    def next_seq(self) -> int:
        self.total += 1
        return self.total

    def entries(self) -> list[LedgerEntry]:
        return list(self._entries)

    def last(self) -> LedgerEntry:
        if not self._entries:
            raise LookupError("the ledger is empty")
        return self._entries[-1]

    def find(self, request_id: str) -> list[LedgerEntry]:
        """Entries carrying this x-portico-request-id / x-request-id."""
        return [e for e in self._entries if e.request_id == request_id]

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[LedgerEntry]:
        return iter(list(self._entries))
