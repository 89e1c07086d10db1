"""The journal's on-disk half: append-only segment files of msgspec JSON lines, plus a checkpoint.

Everything before the checkpoint position has reached the database. Methods block (file I/O and
fsync): the journal calls them from a worker thread, one at a time.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import msgspec

from portico.store.records import AuditEvent, LedgerRow

log = logging.getLogger(__name__)

_SUFFIX = ".seg"
_CHECKPOINT = "checkpoint.json"


class Position(NamedTuple):
    segment: int
    offset: int


class LedgerEntry(msgspec.Struct, tag="ledger"):
    row: LedgerRow


class AuditEntry(msgspec.Struct, tag="audit"):
    event: AuditEvent


Entry = LedgerEntry | AuditEntry


class JournalLocked(RuntimeError):
    """Another process holds this journal directory; each process needs its own."""


class _Checkpoint(msgspec.Struct):
    segment: int
    offset: int


class SegmentLog:
    def __init__(self, directory: Path, max_segment_bytes: int) -> None:
        self._dir = directory
        self._max_bytes = max_segment_bytes
        self._encoder = msgspec.json.Encoder()
        self._decoder = msgspec.json.Decoder(Entry)
        self._lock_fd: int | None = None
        self._fd: int | None = None
        self._active = 1
        self._size = 0

    def _path(self, segment: int) -> Path:
        return self._dir / f"{segment:012d}{_SUFFIX}"

    def _segments(self) -> list[int]:
        return sorted(int(p.stem) for p in self._dir.glob(f"*{_SUFFIX}") if p.stem.isdigit())

    def open(self) -> Position:
        """Lock the directory, cut a torn last line, and return the checkpoint."""
        self._dir.mkdir(parents=True, exist_ok=True)
        lock_fd = os.open(self._dir / "LOCK", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(lock_fd)
            raise JournalLocked(f"journal directory {self._dir} is in use") from exc
        self._lock_fd = lock_fd
        segments = self._segments()
        self._active = segments[-1] if segments else 1
        path = self._path(self._active)
        self._size = _cut_torn_tail(path) if path.exists() else 0
        self._fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)
        _fsync_dir(self._dir)
        try:
            cp = msgspec.json.decode((self._dir / _CHECKPOINT).read_bytes(), type=_Checkpoint)
        except FileNotFoundError:
            return Position(segments[0] if segments else 1, 0)
        return Position(cp.segment, cp.offset)

    def append(self, entries: list[Entry]) -> list[Position | None]:
        """Write and fsync; return each entry's end position, None for one that cannot encode."""
        if self._fd is None:
            raise RuntimeError("segment log is not open")
        if self._size >= self._max_bytes:
            os.close(self._fd)
            self._active += 1
            self._fd = os.open(self._path(self._active),
                               os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)
            self._size = 0
            _fsync_dir(self._dir)
        chunks: list[bytes] = []
        ends: list[Position | None] = []
        offset = self._size
        for entry in entries:
            try:
                line = self._encoder.encode(entry) + b"\n"
            except (msgspec.EncodeError, TypeError):
                log.exception("journal: dropping an entry that does not encode")
                ends.append(None)
                continue
            chunks.append(line)
            offset += len(line)
            ends.append(Position(self._active, offset))
        data = memoryview(b"".join(chunks))
        while data:
            written = os.write(self._fd, data)
            data = data[written:]
        os.fsync(self._fd)
        self._size = offset
        return ends

    def read_from(self, pos: Position, limit: int) -> list[tuple[Entry, Position]]:
        out: list[tuple[Entry, Position]] = []
        for entry, end in self._iter_from(pos):
            out.append((entry, end))
            if len(out) >= limit:
                break
        return out

    def count_from(self, pos: Position) -> int:
        return sum(1 for _ in self._iter_from(pos))

    def _iter_from(self, pos: Position) -> Iterator[tuple[Entry, Position]]:
        for segment in self._segments():
            if segment < pos.segment:
                continue
            offset = pos.offset if segment == pos.segment else 0
            with self._path(segment).open("rb") as f:
                f.seek(offset)
                for line in f:
                    offset += len(line)
                    if not line.endswith(b"\n"):
                        break  # a write in flight (or torn by a crash): not durable yet
                    try:
                        entry = self._decoder.decode(line)
                    except msgspec.DecodeError:
                        log.error("journal: skipping undecodable line in segment %d at %d",
                                  segment, offset - len(line))
                        continue
                    yield entry, Position(segment, offset)

    def checkpoint(self, pos: Position) -> None:
        tmp = self._dir / (_CHECKPOINT + ".tmp")
        tmp.write_bytes(msgspec.json.encode(_Checkpoint(pos.segment, pos.offset)))
        # Without an fsync a crash may keep the older checkpoint: replay is idempotent.
        tmp.replace(self._dir / _CHECKPOINT)
        for segment in self._segments():
            if segment < pos.segment:
                self._path(segment).unlink(missing_ok=True)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None


def _cut_torn_tail(path: Path) -> int:
    """Truncate after the last newline (a crash mid-write); return the new size."""
    data = path.read_bytes()
    keep = data.rfind(b"\n") + 1
    if keep != len(data):
        log.warning("journal: dropping %d torn bytes at the end of %s", len(data) - keep, path)
        with path.open("r+b") as f:
            f.truncate(keep)
            os.fsync(f.fileno())
    return keep


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    with contextlib.suppress(OSError):  # some filesystems refuse fsync on a directory
        os.fsync(fd)
    os.close(fd)
