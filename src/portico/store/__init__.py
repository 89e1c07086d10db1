"""Durable state behind small interfaces: keys, the usage ledger and audit events.

`base.py` holds the protocols, `records.py` the rows; `sqlite`/`postgres` implement them with
migrations; `journal.py` is the write-behind journal that makes ledger and audit writes
survive database outages and crashes. Only this package imports database drivers.
"""
