"""Alembic environment: runs on the connection `Store.migrate()` hands over; never opens its own."""

from __future__ import annotations

from alembic import context

from portico.store._tables import VERSION_TABLE, build_metadata


def _run() -> None:
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=build_metadata()[0],
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


_run()
