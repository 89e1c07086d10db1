"""Subprocess body for the SIGKILL test: submit rows steadily, report how many are fsynced.

Prints `durable N` whenever the journal's fsynced count grows; the parent kills it mid-load.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from portico.store.journal import Journal
from portico.store.records import AuditEvent, LedgerRow
from portico.store.sql import open_store


async def main(url: str, directory: str) -> None:
    store = await open_store(url)
    journal = Journal(store, Path(directory), flush_interval_ms=20, batch_size=200)
    await journal.start()
    n = 0
    reported = 0
    while True:
        for _ in range(25):
            journal.submit_ledger(LedgerRow(request_id=f"r{n:07d}", ts_ms=n, key_id="vk",
                                            team=None, model_requested="m", cost_micros=n))
            journal.submit_audit(AuditEvent(event_id=f"e{n:07d}", ts_ms=n, kind="request",
                                            actor="vk", action="chat.completions"))
            n += 1
        written = journal.stats.written
        if written > reported:
            reported = written
            sys.stdout.write(f"durable {written}\n")
            sys.stdout.flush()
        await asyncio.sleep(0.002)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
