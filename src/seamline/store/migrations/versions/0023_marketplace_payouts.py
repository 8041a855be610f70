"""marketplace payouts (issue 17): the payouts imported and their amounts; the customer an export was booked on

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-08 01:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from seamline.store.types import UTCDateTime

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("finance_exports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_ref", sa.String(length=64), nullable=True))
    op.create_table(
        "marketplace_payouts",
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("payout_id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("deposit_date", sa.Date(), nullable=True),
        sa.Column("document_id", sa.String(length=40), nullable=True),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("imported_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("channel", "payout_id", name=op.f("pk_marketplace_payouts")),
    )
    op.create_table(
        "marketplace_payout_lines",
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("payout_id", sa.String(length=64), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=200), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("order_ref", sa.String(length=64), nullable=True),
        sa.Column("posted", sa.Date(), nullable=True),
        sa.Column("sku", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("channel", "payout_id", "line_no", name=op.f("pk_marketplace_payout_lines")),
    )
    op.create_index(
        op.f("ix_marketplace_payout_lines_channel_order_ref"),
        "marketplace_payout_lines",
        ["channel", "order_ref"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_marketplace_payout_lines_channel_order_ref"), table_name="marketplace_payout_lines")
    op.drop_table("marketplace_payout_lines")
    op.drop_table("marketplace_payouts")
    with op.batch_alter_table("finance_exports", schema=None) as batch_op:
        batch_op.drop_column("customer_ref")
