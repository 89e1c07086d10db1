"""The ledger's ring buffer and lookups."""

from __future__ import annotations

import msgspec
import pytest

from portico.simulate.ledger import Ledger, LedgerEntry


def _entry(ledger: Ledger, request_id: str | None = None) -> LedgerEntry:
    seq = ledger.next_seq()
    entry = LedgerEntry(seq=seq, sim_id=f"s{seq}", request_id=request_id, method="POST", path="/")
    ledger.record(entry)
    return entry


def test_ring_buffer_bounds_size_but_counts_total() -> None:
    ledger = Ledger(maxlen=3)
    for _ in range(5):
        _entry(ledger)
    assert len(ledger) == 3 and ledger.total == 5
    assert [e.seq for e in ledger] == [3, 4, 5]
    assert ledger.last().seq == 5


def test_find_and_clear() -> None:
    ledger = Ledger()
    _entry(ledger, "r1")
    _entry(ledger, "r2")
    _entry(ledger, "r1")
    assert [e.seq for e in ledger.find("r1")] == [1, 3]
    ledger.clear()
    assert len(ledger) == 0
    with pytest.raises(LookupError):
        ledger.last()


def test_entry_body_round_trips_as_json() -> None:
    entry = LedgerEntry(seq=1, sim_id="s", request_id=None, method="POST", path="/",
                        body=msgspec.Raw(b'{"a": [1, 2]}'))
    assert entry.json_body() == {"a": [1, 2]}
    assert msgspec.json.decode(msgspec.json.encode(entry))["body"] == {"a": [1, 2]}
