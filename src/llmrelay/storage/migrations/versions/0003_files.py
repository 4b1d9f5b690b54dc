"""Files uploaded through /v1/files.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

from llmrelay.storage.files import files

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    files.create(op.get_bind(), checkfirst=True)  # with its indexes


def downgrade() -> None:
    files.drop(op.get_bind(), checkfirst=True)
