"""Teams as stored records: name (unique, never reused), settings JSON, archive time.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "teams",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger(), nullable=False),
        # msgspec-encoded TeamSettings, like virtual_keys.settings: new knobs need no migration.
        sa.Column("settings", sa.Text(), nullable=False),
        sa.Column("archived_at_ms", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_teams_name", "teams", ["name"], unique=True)


def downgrade() -> None:
    op.drop_table("teams")
