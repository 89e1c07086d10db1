"""Journal logic against an in-memory sink, with an injected clock and sleep."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from portico.store._segments import JournalLocked
from portico.store.journal import Journal
from portico.store.records import AuditEvent, LedgerRow


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


class MemorySink:
    def __init__(self) -> None:
        self.rows: dict[str, LedgerRow] = {}
        self.events: list[AuditEvent] = []
        self.down = False
        self.calls = 0

    async def write_ledger(self, rows: Sequence[LedgerRow]) -> None:
        self.calls += 1
        if self.down:
            raise ConnectionError("database down")
        for r in rows:
            self.rows.setdefault(r.request_id, r)

    async def append_audit(self, events: Sequence[AuditEvent]) -> None:
        self.calls += 1
        if self.down:
            raise ConnectionError("database down")
        seen = {e.event_id for e in self.events}
        self.events.extend(e for e in events if e.event_id not in seen)


async def eventually(pred: Callable[[], bool]) -> None:
    """Wait for the flusher's worker-thread file I/O; the journal's timing is the fake clock's."""
    for _ in range(2000):
        if pred():
            return
        await asyncio.sleep(0.002)
    raise AssertionError("condition never held")


def row(i: int) -> LedgerRow:
    return LedgerRow(request_id=f"r{i}", ts_ms=i, key_id="k", team=None, model_requested="m")


def event(i: int) -> AuditEvent:
    return AuditEvent(event_id=f"e{i}", ts_ms=i, kind="request", actor="k", action="chat")


@pytest.fixture
def ft() -> FakeTime:
    return FakeTime()


def make(sink: MemorySink, path: Path, ft: FakeTime, **kw: int) -> Journal:
    return Journal(sink, path, clock=ft.clock, sleep=ft.sleep, **kw)


async def test_flush_writes_file_then_store(tmp_path: Path, ft: FakeTime) -> None:
    sink = MemorySink()
    j = make(sink, tmp_path / "j", ft)
    await j.start(background=False)
    for i in range(3):
        j.submit_ledger(row(i))
    j.submit_audit(event(0))
    assert j.stats.pending == 4
    await j.flush()
    assert sorted(sink.rows) == ["r0", "r1", "r2"]
    assert [e.event_id for e in sink.events] == ["e0"]
    s = j.stats
    assert (s.pending, s.flushed, s.written, s.failures) == (0, 4, 4, 0)
    await j.close()


async def test_outage_backs_off_then_recovers(tmp_path: Path, ft: FakeTime) -> None:
    sink = MemorySink()
    j = make(sink, tmp_path / "j", ft, backoff_initial_ms=100, backoff_max_ms=400)
    await j.start(background=False)
    sink.down = True
    j.submit_ledger(row(1))
    await j.flush()
    assert j.stats.failures == 1 and j.stats.pending == 1 and j.stats.written == 1
    calls = sink.calls
    await j.flush()  # still inside the backoff window: no store call
    assert sink.calls == calls
    for expected in (0.2, 0.4, 0.4):  # doubling, capped
        ft.now += 10
        await j.flush()
        assert j._backoff == pytest.approx(expected)
    sink.down = False
    ft.now += 1
    await j.flush()
    assert list(sink.rows) == ["r1"] and j.stats.pending == 0
    await j.close()


async def test_memory_bound_spills_to_file_and_keeps_order(tmp_path: Path,
                                                           ft: FakeTime) -> None:
    sink = MemorySink()
    j = make(sink, tmp_path / "j", ft, max_memory=3, batch_size=2)
    await j.start(background=False)
    sink.down = True
    for i in range(10):
        j.submit_audit(event(i))
    await j.flush()
    assert j.stats.file_only == 7 and j.stats.pending == 10
    sink.down = False
    ft.now += 100
    while await j.flush():
        pass
    assert [e.event_id for e in sink.events] == [f"e{i}" for i in range(10)]
    assert j.stats.pending == 0 and j.stats.file_only == 0
    j.submit_audit(event(10))
    await j.flush()
    assert sink.events[-1].event_id == "e10"
    await j.close()


async def test_replay_after_crash_lands_once(tmp_path: Path, ft: FakeTime) -> None:
    sink = MemorySink()
    first = make(sink, tmp_path / "j", ft)
    await first.start(background=False)
    sink.down = True
    for i in range(5):
        first.submit_ledger(row(i))
    await first.flush()  # on disk, not in the store
    await asyncio.to_thread(first._log.close)  # the process dies: only the lock goes away
    sink.down = False
    second = make(sink, tmp_path / "j", ft)
    await second.start(background=False)
    assert sorted(sink.rows) == [f"r{i}" for i in range(5)]
    await second.close()
    third = make(sink, tmp_path / "j", ft)
    await third.start(background=False)  # checkpoint passed everything: nothing replays
    assert third.stats.flushed == 0
    await third.close()


async def test_replay_after_store_write_without_checkpoint_is_idempotent(
        tmp_path: Path, ft: FakeTime) -> None:
    sink = MemorySink()
    j = make(sink, tmp_path / "j", ft)
    await j.start(background=False)
    j.submit_audit(event(1))
    await j.flush()
    await j.close()
    (tmp_path / "j" / "checkpoint.json").unlink()  # crash between store write and checkpoint
    again = make(sink, tmp_path / "j", ft)
    await again.start(background=False)
    assert again.stats.flushed == 1
    assert [e.event_id for e in sink.events] == ["e1"]
    await again.close()


async def test_torn_tail_is_cut(tmp_path: Path, ft: FakeTime) -> None:
    sink = MemorySink()
    sink.down = True
    j = make(sink, tmp_path / "j", ft, close_timeout_ms=0)
    await j.start(background=False)
    j.submit_ledger(row(1))
    await j.close()
    seg = next((tmp_path / "j").glob("*.seg"))
    with seg.open("ab") as f:
        f.write(b'{"type":"ledger","row":{"request_')
    sink.down = False
    again = make(sink, tmp_path / "j", ft)
    await again.start(background=False)
    assert list(sink.rows) == ["r1"]
    assert seg.read_bytes().endswith(b"\n")
    again.submit_ledger(row(2))
    await again.close()
    assert sorted(sink.rows) == ["r1", "r2"]


async def test_close_drains_with_retries(tmp_path: Path, ft: FakeTime) -> None:
    sink = MemorySink()
    j = make(sink, tmp_path / "j", ft, batch_size=10)
    await j.start(background=False)
    for i in range(25):
        j.submit_ledger(row(i))
    sink.down = True
    real_sleep = ft.sleep

    async def sleep_then_recover(seconds: float) -> None:
        if j.stats.failures >= 3:
            sink.down = False
        await real_sleep(seconds)

    j._sleep = sleep_then_recover
    await j.close()
    assert len(sink.rows) == 25 and j.stats.pending == 0


async def test_close_gives_up_at_timeout_and_keeps_file(tmp_path: Path, ft: FakeTime) -> None:
    sink = MemorySink()
    sink.down = True
    j = make(sink, tmp_path / "j", ft, close_timeout_ms=1000)
    await j.start(background=False)
    j.submit_ledger(row(1))
    await j.close()
    assert j.stats.pending == 1 and ft.now - 1000.0 >= 1.0
    sink.down = False
    again = make(sink, tmp_path / "j", ft)
    await again.start(background=False)
    assert list(sink.rows) == ["r1"]
    await again.close()


async def test_intake_bound_drops_and_counts(tmp_path: Path, ft: FakeTime) -> None:
    j = make(MemorySink(), tmp_path / "j", ft, max_intake=3)
    for i in range(5):
        j.submit_ledger(row(i))
    assert j.stats.dropped == 2 and j.stats.pending == 3


async def test_background_loop_flushes_on_interval(tmp_path: Path, ft: FakeTime) -> None:
    sink = MemorySink()
    j = make(sink, tmp_path / "j", ft, flush_interval_ms=50)
    await j.start()
    await eventually(lambda: bool(ft.slept))  # the flusher is between cycles
    assert ft.slept[0] == pytest.approx(0.05)
    j.submit_ledger(row(1))
    await eventually(lambda: bool(sink.rows))
    assert list(sink.rows) == ["r1"]
    await j.close()


async def test_full_batch_wakes_the_flusher(tmp_path: Path, ft: FakeTime) -> None:
    sink = MemorySink()
    j = make(sink, tmp_path / "j", ft, batch_size=4)

    waits = 0

    async def never(_seconds: float) -> None:
        nonlocal waits
        waits += 1
        await asyncio.get_running_loop().create_future()  # only the wake event ends a wait

    j._sleep = never
    await j.start()
    await eventually(lambda: waits == 1)  # the flusher is idle, waiting out its interval
    for i in range(3):
        j.submit_ledger(row(i))
    for _ in range(50):
        await asyncio.sleep(0)
    assert waits == 1 and not sink.rows  # below a batch and no interval elapses
    j.submit_ledger(row(3))
    await eventually(lambda: len(sink.rows) == 4)
    assert len(sink.rows) == 4
    await j.close()


async def test_segments_roll_and_flushed_ones_are_deleted(tmp_path: Path,
                                                         ft: FakeTime) -> None:
    sink = MemorySink()
    j = make(sink, tmp_path / "j", ft, max_segment_bytes=200, batch_size=1000)
    await j.start(background=False)
    sink.down = True
    for i in range(6):
        j.submit_ledger(row(i))
        await j.flush()
    assert len(list((tmp_path / "j").glob("*.seg"))) >= 3
    sink.down = False
    ft.now += 100
    await j.flush()
    assert len(sink.rows) == 6
    assert len(list((tmp_path / "j").glob("*.seg"))) == 1
    await j.close()


async def test_unencodable_entry_is_dropped_not_fatal(tmp_path: Path, ft: FakeTime) -> None:
    sink = MemorySink()
    j = make(sink, tmp_path / "j", ft)
    await j.start(background=False)
    j.submit_audit(AuditEvent(event_id="bad", ts_ms=1, kind="admin", actor="a", action="x",
                              detail={"obj": object()}))
    j.submit_audit(event(2))
    await j.flush()
    assert [e.event_id for e in sink.events] == ["e2"] and j.stats.dropped == 1
    await j.close()


async def test_one_process_per_directory(tmp_path: Path, ft: FakeTime) -> None:
    j = make(MemorySink(), tmp_path / "j", ft)
    await j.start(background=False)
    with pytest.raises(JournalLocked):
        await make(MemorySink(), tmp_path / "j", ft).start(background=False)
    await j.close()
