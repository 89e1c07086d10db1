"""The incremental SSE decoder: any byte split equals the whole, line endings, comments."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from portico.adapters._sse import SSEDecoder
from portico.adapters.base import SSEEvent

STREAM = (
    "\ufeff: comment line\n"
    "event: message\nid: 7\nretry: 1500\ndata: first\ndata:  two spaces\n\n"
    "data: crlf\r\n\r\n"
    "data: cr only\r\r"
    "data:no-space\n:ignored\ndata: ünïcode ✓\n\n"
    "event: ping\n\n"
    "data: [DONE]\n\n"
).encode()
EXPECTED = [
    SSEEvent(data="first\n two spaces", event="message", id="7", retry=1500),
    SSEEvent(data="crlf", id="7"),
    SSEEvent(data="cr only", id="7"),
    SSEEvent(data="no-space\nünïcode ✓", id="7"),
    SSEEvent(data="", event="ping", id="7"),
    SSEEvent(data="[DONE]", id="7"),
]


def decode(pieces: list[bytes]) -> list[SSEEvent]:
    dec = SSEDecoder()
    events = [ev for p in pieces for ev in dec.feed(p)]
    return events + dec.flush()


def test_whole_stream() -> None:
    assert decode([STREAM]) == EXPECTED


def test_byte_at_a_time() -> None:
    assert decode([STREAM[i:i + 1] for i in range(len(STREAM))]) == EXPECTED


@settings(max_examples=300, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=30))
def test_any_split_equals_whole(cuts: list[int]) -> None:
    bounds = [0, *sorted(set(cuts)), len(STREAM)]
    assert decode([STREAM[a:b] for a, b in itertools.pairwise(bounds)]) == EXPECTED


def test_final_event_without_blank_line_is_flushed() -> None:
    assert decode([b"data: tail"]) == [SSEEvent(data="tail")]
    assert decode([b"data: tail\r"]) == [SSEEvent(data="tail")]


def test_fields_and_invalid_values() -> None:
    events = decode([b"retry: soon\nid: a\x00b\ndata\nunknown: x\n\n"])
    assert events == [SSEEvent(data="")]
