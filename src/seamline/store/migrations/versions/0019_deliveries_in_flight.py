"""an index on a subscriber's leased deliveries: counting its batches in flight does not read its backlog

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 21:50:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deliveries_subscriber_locked_until"), ["subscriber", "locked_until"])


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deliveries_subscriber_locked_until"))
