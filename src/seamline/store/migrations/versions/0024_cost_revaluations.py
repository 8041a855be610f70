"""cost revaluations (issue 17): units received at nothing revalued once their cost is known

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-08 01:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from seamline.store.types import UTCDateTime

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cost_revaluations",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("old_unit_cost", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("new_unit_cost", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("amount", sa.Numeric(precision=20, scale=4), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("cause", sa.String(length=200), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("units > 0", name=op.f("ck_cost_revaluations_units_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cost_revaluations")),
        sa.UniqueConstraint("cause", name=op.f("uq_cost_revaluations_cause")),
    )
    op.create_index("ix_cost_revaluations_sku_location", "cost_revaluations", ["sku", "location"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_cost_revaluations_sku_location", table_name="cost_revaluations")
    op.drop_table("cost_revaluations")
