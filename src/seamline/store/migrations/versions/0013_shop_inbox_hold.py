"""inbox messages can be held: ``waiting_for`` names what a held message waits for

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 19:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("waiting_for", sa.String(length=200), nullable=True))
        batch_op.create_index(batch_op.f("ix_inbox_messages_source_waiting_for"), ["source", "waiting_for"])


def downgrade() -> None:
    with op.batch_alter_table("inbox_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbox_messages_source_waiting_for"))
        batch_op.drop_column("waiting_for")
