"""Durable state behind small interfaces: keys, the usage ledger and audit events.

`base.py` holds the protocols, `records.py` the rows; `sqlite`/`postgres` implement them with
migrations; `journal.py` is the write-behind journal that makes ledger and audit writes
survive database outages and crashes. Only this package imports database drivers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from portico.store.sql import open_store

__all__ = ["open_store"]


def __getattr__(name: str) -> object:
    # Lazy, so importing the records or protocols does not pull in SQLAlchemy.
    if name == "open_store":
        from portico.store.sql import open_store
        return open_store
    raise AttributeError(name)
