"""Incremental Server-Sent Events decoder (WHATWG rules), independent of how bytes are split.

Feeding a stream in any split yields the same events as feeding it whole: bytes are buffered
until a full line, and a line until a blank line ends the event.
"""

from __future__ import annotations

from portico.adapters.base import SSEEvent


class SSEDecoder:
    __slots__ = ("_buf", "_data", "_event", "_id", "_retry", "_seen_bom")

    def __init__(self) -> None:
        self._buf = b""
        self._data: list[str] = []
        self._event: str | None = None
        self._id: str | None = None
        self._retry: int | None = None
        self._seen_bom = False

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        buf = self._buf + chunk if self._buf else chunk
        if not self._seen_bom and buf:
            if buf.startswith(b"\xef\xbb\xbf"):
                buf = buf[3:]
            self._seen_bom = len(buf) > 0 or self._seen_bom
        events: list[SSEEvent] = []
        start = 0
        n = len(buf)
        while start < n:
            nl = buf.find(b"\n", start)
            cr = buf.find(b"\r", start, nl if nl >= 0 else n)
            if cr >= 0:
                # A CR at the very end may be the first half of CRLF: wait for more.
                if cr == n - 1:
                    break
                end, nxt = cr, cr + 2 if buf[cr + 1 : cr + 2] == b"\n" else cr + 1
            elif nl >= 0:
                end, nxt = nl, nl + 1
            else:
                break
            self._line(buf[start:end].decode("utf-8", "replace"), events)
            start = nxt
        self._buf = buf[start:]
        return events

    def flush(self) -> list[SSEEvent]:
        """Events still pending when the stream ends without a final blank line."""
        events: list[SSEEvent] = []
        if self._buf:
            tail, self._buf = self._buf.rstrip(b"\r"), b""
            self._line(tail.decode("utf-8", "replace"), events)
        self._line("", events)
        return events

    def _line(self, line: str, out: list[SSEEvent]) -> None:
        if not line:
            if self._data or self._event is not None:
                out.append(SSEEvent(data="\n".join(self._data), event=self._event,
                                    id=self._id, retry=self._retry))
            self._data, self._event, self._retry = [], None, None
            return
        if line[0] == ":":
            return
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value
        elif name == "retry" and value.isdigit():
            self._retry = int(value)
