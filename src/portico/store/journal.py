"""Bounded write-behind journal for ledger rows and audit events: durable before acknowledged.

`submit_*` only appends to memory. Every `flush_interval_ms` (or when a batch fills) the flusher
appends what arrived to a local segment file and fsyncs it, then writes a batch to the store and
checkpoints (at most every `checkpoint_interval_ms`, and on close: a later checkpoint only means
more idempotent replay after a crash). While the store is down, rows wait in the file (and in
memory up to a bound) and are retried with exponential backoff; `start()` replays whatever the
checkpoint has not passed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import msgspec

from portico.store._segments import (
    AuditEntry,
    Entry,
    JournalLocked,
    LedgerEntry,
    Position,
    SegmentLog,
)
from portico.store.records import AuditEvent, LedgerRow

__all__ = ["Journal", "JournalLocked", "JournalSink", "JournalStats"]

log = logging.getLogger(__name__)


class JournalSink(Protocol):
    """The part of the store the journal writes to (both calls must be idempotent)."""

    async def write_ledger(self, rows: Sequence[LedgerRow]) -> None: ...
    async def append_audit(self, events: Sequence[AuditEvent]) -> None: ...


@runtime_checkable
class BatchSink(Protocol):
    """A sink that writes both kinds in one transaction (the SQL store does)."""

    async def write_batch(self, rows: Sequence[LedgerRow], events: Sequence[AuditEvent]
                          ) -> None: ...


class JournalStats(msgspec.Struct, kw_only=True):
    pending: int        # accepted, not yet in the store (memory + file)
    flushed: int        # written to the store by this process
    failures: int       # failed store writes (each one backs off)
    dropped: int        # refused because the in-memory intake was full
    written: int        # fsynced to the journal file by this process
    file_only: int      # beyond the memory bound: only in the file until reloaded


class Journal:
    def __init__(
        self,
        sink: JournalSink,
        directory: Path,
        *,
        flush_interval_ms: int = 100,
        batch_size: int = 4000,  # per store transaction: 500 kept up with ~600 req/s only
        max_memory: int = 50_000,
        max_intake: int = 100_000,
        max_segment_bytes: int = 64 << 20,
        backoff_initial_ms: int = 100,
        backoff_max_ms: int = 30_000,
        close_timeout_ms: int = 10_000,
        checkpoint_interval_ms: int = 1000,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._sink = sink
        self._batch_sink = sink if isinstance(sink, BatchSink) else None
        self._log = SegmentLog(directory, max_segment_bytes)
        self._interval = flush_interval_ms / 1000
        self._batch_size = batch_size
        self._max_memory = max_memory
        self._max_intake = max_intake
        self._backoff_initial = backoff_initial_ms / 1000
        self._backoff_max = backoff_max_ms / 1000
        self._close_timeout = close_timeout_ms / 1000
        self._checkpoint_interval = checkpoint_interval_ms / 1000
        self._next_checkpoint = 0.0
        self._unsaved: Position | None = None  # flushed to the store, not yet checkpointed
        self._clock = clock
        self._sleep = sleep
        self._intake: deque[Entry] = deque()
        self._memory: deque[tuple[Entry, Position]] = deque()
        self._mem_end = Position(1, 0)  # file position the memory queue mirrors up to
        self._file_only = 0
        self._backoff = 0.0
        self._next_try = 0.0
        self._flushed = self._failures = self._dropped = self._written = 0
        self._wake = asyncio.Event()
        self._cycle_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._started = self._closing = False

    # -- request path (sync, O(1)) -----------------------------------------------------------

    def submit_ledger(self, row: LedgerRow) -> None:
        self._submit(LedgerEntry(row))

    def submit_audit(self, event: AuditEvent) -> None:
        self._submit(AuditEntry(event))

    def _submit(self, entry: Entry) -> None:
        if len(self._intake) >= self._max_intake or self._closing:
            self._dropped += 1
            if self._dropped == 1 or self._dropped % 1000 == 0:
                log.error("journal: intake full or closed, %d entries dropped so far",
                          self._dropped)
            return
        self._intake.append(entry)
        if len(self._intake) == self._batch_size:
            self._wake.set()

    @property
    def stats(self) -> JournalStats:
        return JournalStats(
            pending=len(self._intake) + len(self._memory) + self._file_only,
            flushed=self._flushed, failures=self._failures, dropped=self._dropped,
            written=self._written, file_only=self._file_only,
        )

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self, *, background: bool = True) -> None:
        """Open the journal, replay what the store has not acknowledged, start flushing.

        With background=False no flusher task runs: the caller drives `flush()` (tests, tools).
        """
        if self._started:
            return
        checkpoint = await asyncio.to_thread(self._log.open)
        self._started = True
        self._mem_end = checkpoint
        self._file_only = await asyncio.to_thread(self._log.count_from, checkpoint)
        if self._file_only:
            log.info("journal: replaying %d unflushed entries", self._file_only)
        async with self._cycle_lock:
            while await self._flush_batch():
                pass
            await self._checkpoint()
        if background:
            self._task = asyncio.create_task(self._run(), name="portico-journal")

    async def close(self) -> None:
        """Drain to the store (retrying until close_timeout_ms); leftovers stay in the file."""
        if not self._started or self._closing:
            return
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
        deadline = self._clock() + self._close_timeout
        while self.stats.pending:
            more = await self.flush()
            now = self._clock()
            if now >= deadline:
                log.warning("journal: closing with %d entries left in the file for replay",
                            self.stats.pending)
                break
            if not more:
                await self._sleep(max(0.0, min(self._next_try, deadline) - now))
        await self._checkpoint()
        await asyncio.to_thread(self._log.close)

    async def flush(self) -> bool:
        """One cycle: persist the intake to the file, then one store batch unless backing off.

        Returns True when more store work is ready right away.
        """
        async with self._cycle_lock:
            await self._persist_intake()
            if self._clock() < self._next_try:
                return False
            return await self._flush_batch()

    # -- the flusher -------------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._closing:
            try:
                more = await self.flush()
            except OSError:
                log.exception("journal: flush cycle failed; retrying next interval")
                more = False
            if not more:
                await self._wait(self._interval)

    async def _wait(self, seconds: float) -> None:
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        waker = asyncio.ensure_future(self._wake.wait())
        _done, pending = await asyncio.wait({sleeper, waker},
                                            return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        self._wake.clear()

    async def _persist_intake(self) -> None:
        if not self._intake:
            return
        batch = list(self._intake)
        self._intake.clear()
        try:
            ends = await asyncio.to_thread(self._log.append, batch)
        except OSError:
            log.exception("journal: cannot write the journal file; keeping %d in memory",
                          len(batch))
            self._intake.extendleft(reversed(batch))
            return
        for entry, end in zip(batch, ends, strict=True):
            if end is None:
                self._dropped += 1
                continue
            self._written += 1
            if self._file_only == 0 and len(self._memory) < self._max_memory:
                self._memory.append((entry, end))
                self._mem_end = end
            else:
                self._file_only += 1

    async def _flush_batch(self) -> bool:
        if not self._memory and self._file_only:
            loaded = await asyncio.to_thread(self._log.read_from, self._mem_end,
                                             self._max_memory)
            self._memory.extend(loaded)
            self._file_only = max(0, self._file_only - len(loaded))
            if loaded:
                self._mem_end = loaded[-1][1]
        if not self._memory:
            return False
        batch = [self._memory[i] for i in range(min(self._batch_size, len(self._memory)))]
        rows = [e.row for e, _ in batch if isinstance(e, LedgerEntry)]
        events = [e.event for e, _ in batch if isinstance(e, AuditEntry)]
        try:
            if self._batch_sink is not None:
                await self._batch_sink.write_batch(rows, events)
            else:
                if rows:
                    await self._sink.write_ledger(rows)
                if events:
                    await self._sink.append_audit(events)
        except Exception:  # any store failure means "retry later"; the rows are on disk
            self._failures += 1
            self._backoff = min(self._backoff_max, max(self._backoff_initial, self._backoff * 2))
            self._next_try = self._clock() + self._backoff
            log.warning("journal: store write of %d entries failed (failure %d), retry in %.2fs",
                        len(batch), self._failures, self._backoff, exc_info=True)
            return False
        for _ in batch:
            self._memory.popleft()
        self._flushed += len(batch)
        self._backoff = 0.0
        self._next_try = 0.0
        self._unsaved = batch[-1][1]
        if self._clock() >= self._next_checkpoint:
            await self._checkpoint()
        return bool(self._memory) or self._file_only > 0

    async def _checkpoint(self) -> None:
        """Record that the store has everything up to the last flushed position."""
        pos, self._unsaved = self._unsaved, None
        if pos is None:
            return
        self._next_checkpoint = self._clock() + self._checkpoint_interval
        try:
            await asyncio.to_thread(self._log.checkpoint, pos)
        except OSError:
            log.exception("journal: checkpoint write failed; these rows may be replayed")
