"""the subscription set in the database: deliveries follow configuration every process sees at once

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 19:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from seamline.store.types import UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("subscriber", sa.String(length=200), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=True),
        sa.Column("coalesced", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("subscriber", name=op.f("pk_subscriptions")),
    )
    op.create_index(op.f("ix_subscriptions_owner"), "subscriptions", ["owner"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_subscriptions_owner"), table_name="subscriptions")
    op.drop_table("subscriptions")
