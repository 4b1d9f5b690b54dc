"""Stored responses of /v1/responses.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

from llmrelay.storage.responses import responses

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    responses.create(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    responses.drop(op.get_bind(), checkfirst=True)
