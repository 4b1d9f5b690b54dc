"""Keys and usage records.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import op

from llmrelay.storage.tables import api_keys, usage_records

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    api_keys.create(bind, checkfirst=True)
    usage_records.create(bind, checkfirst=True)


def downgrade() -> None:
    bind = op.get_bind()
    usage_records.drop(bind, checkfirst=True)
    api_keys.drop(bind, checkfirst=True)
