"""Assistants, threads, messages, runs and run steps.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

from llmrelay.storage.assistants import TABLES

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    for table in TABLES:
        table.create(bind, checkfirst=True)


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(TABLES):
        table.drop(bind, checkfirst=True)
