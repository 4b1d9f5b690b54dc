"""Usage records say whether the upstream broke a stream after its first byte.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _has_column() -> bool:
    """0001 creates the table from the current definition, so a new database already has it."""
    columns = sa.inspect(op.get_bind()).get_columns("usage_records")
    return any(column["name"] == "incomplete" for column in columns)


def upgrade() -> None:
    if _has_column():
        return
    with op.batch_alter_table("usage_records") as batch:
        batch.add_column(sa.Column("incomplete", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    if not _has_column():
        return
    with op.batch_alter_table("usage_records") as batch:
        batch.drop_column("incomplete")
