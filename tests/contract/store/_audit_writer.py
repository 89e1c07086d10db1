"""Subprocess body for the multi-process audit test: append events one small batch at a time."""

from __future__ import annotations

import asyncio
import sys

from portico.store.records import AuditEvent
from portico.store.sql import open_store


async def main(url: str, prefix: str, count: int) -> None:
    store = await open_store(url)
    try:
        for i in range(0, count, 2):
            await store.append_audit([
                AuditEvent(event_id=f"{prefix}-{j}", ts_ms=j, kind="request", actor=prefix,
                           action="chat.completions", detail={"i": j})
                for j in (i, i + 1)
            ])
    finally:
        await store.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
