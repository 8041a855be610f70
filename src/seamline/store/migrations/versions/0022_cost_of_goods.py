"""cost of goods (issue 17): movements at cost, the moving average cost per (sku, location), standard costs

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 22:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from seamline.store.types import UTCDateTime

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("movements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unit_cost", sa.Numeric(precision=14, scale=4), nullable=True))
        batch_op.add_column(sa.Column("cost_value", sa.Numeric(precision=20, scale=4), nullable=True))
        batch_op.add_column(sa.Column("cost_currency", sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column("cost_source", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("cost_cause", sa.String(length=200), nullable=True))
    op.create_table(
        "stock_costs",
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("qty", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Numeric(precision=20, scale=4), nullable=False),
        sa.Column("unit_cost", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("unit_cost >= 0", name=op.f("ck_stock_costs_unit_cost_not_negative")),
        sa.PrimaryKeyConstraint("sku", "location", name=op.f("pk_stock_costs")),
    )
    op.create_table(
        "standard_costs",
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("unit_cost", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("unit_cost >= 0", name=op.f("ck_standard_costs_unit_cost_not_negative")),
        sa.ForeignKeyConstraint(["sku"], ["skus.sku"], name=op.f("fk_standard_costs_sku_skus")),
        sa.PrimaryKeyConstraint("sku", name=op.f("pk_standard_costs")),
    )


def downgrade() -> None:
    op.drop_table("standard_costs")
    op.drop_table("stock_costs")
    with op.batch_alter_table("movements", schema=None) as batch_op:
        batch_op.drop_column("cost_cause")
        batch_op.drop_column("cost_source")
        batch_op.drop_column("cost_currency")
        batch_op.drop_column("cost_value")
        batch_op.drop_column("unit_cost")
