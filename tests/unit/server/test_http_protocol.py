from __future__ import annotations

import asyncio
from typing import Any, cast

from portico.server.http_protocol import CoalescingTransport

HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"


class Recorder:
    """Stands in for an asyncio transport: records each write (one write = one send)."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str) -> Any:
        return ("127.0.0.1", 1) if name == "peername" else None


def wrap(rec: Recorder) -> CoalescingTransport:
    return CoalescingTransport(cast(asyncio.Transport, rec), asyncio.get_running_loop())


async def test_head_and_body_of_one_turn_leave_in_one_write() -> None:
    rec = Recorder()
    t = wrap(rec)
    t.write(HEAD)
    assert rec.writes == []
    t.write(b"ok")
    assert rec.writes == [HEAD + b"ok"]
    await asyncio.sleep(0)          # the end-of-turn flush finds nothing left
    assert rec.writes == [HEAD + b"ok"]


async def test_a_head_alone_goes_out_at_the_end_of_the_turn() -> None:
    # A stream waiting for its first token, or a 100 Continue: never held past this turn.
    rec = Recorder()
    t = wrap(rec)
    t.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    await asyncio.sleep(0)
    assert rec.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    t.write(HEAD)
    await asyncio.sleep(0)
    t.write(b"data: {}\n\n")
    assert rec.writes == [b"HTTP/1.1 100 Continue\r\n\r\n", HEAD, b"data: {}\n\n"]


async def test_other_writes_pass_straight_through_in_order() -> None:
    rec = Recorder()
    t = wrap(rec)
    t.write(b"5\r\nhello\r\n")
    t.write(memoryview(b"0\r\n\r\n"))
    assert rec.writes == [b"5\r\nhello\r\n", b"0\r\n\r\n"]


async def test_writelines_keeps_a_held_head_in_front() -> None:
    rec = Recorder()
    t = wrap(rec)
    t.write(HEAD)
    t.writelines([b"o", b"k"])
    assert rec.writes == [HEAD + b"ok"]


async def test_close_sends_a_held_head_first_and_the_rest_delegates() -> None:
    rec = Recorder()
    t = wrap(rec)
    t.write(HEAD)
    t.close()
    assert rec.writes == [HEAD]
    assert rec.closed and t.is_closing()
    assert t.get_extra_info("peername") == ("127.0.0.1", 1)
