"""order shipments (one row per shipment, its lines, carrier and tracking) and what each channel was told

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 19:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from seamline.store.types import UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "order_shipments",
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("shipment_no", sa.Integer(), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("carrier", sa.String(length=100), nullable=True),
        sa.Column("tracking", sa.String(length=200), nullable=True),
        sa.Column("shipped_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_order_shipments_order_id_orders")),
        sa.PrimaryKeyConstraint("order_id", "shipment_no", name=op.f("pk_order_shipments")),
    )
    op.create_table(
        "channel_confirmations",
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("ref", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("channel", "kind", "ref", name=op.f("pk_channel_confirmations")),
    )


def downgrade() -> None:
    op.drop_table("channel_confirmations")
    op.drop_table("order_shipments")
