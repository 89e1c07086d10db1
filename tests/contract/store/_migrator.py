"""Subprocess body for the concurrent-migration test: open the store and migrate it."""

from __future__ import annotations

import asyncio
import sys

from portico.store.sql import open_store


async def main(url: str) -> None:
    store = await open_store(url)
    try:
        await store.migrate()
    finally:
        await store.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
