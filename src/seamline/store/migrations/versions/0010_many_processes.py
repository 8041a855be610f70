"""periodic jobs claimed once per period, and rate limits shared by every process

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 17:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from seamline.store.types import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_periods",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("next_due_at", UTCDateTime(), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("claimed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_periods")),
    )
    op.create_table(
        "rate_buckets",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("rate", sa.Numeric(asdecimal=False), nullable=False),
        sa.Column("capacity", sa.Numeric(asdecimal=False), nullable=False),
        sa.Column("tokens", sa.Numeric(asdecimal=False), nullable=False),
        sa.Column("stamp", sa.Numeric(asdecimal=False), nullable=False),
        sa.Column("blocked_until", sa.Numeric(asdecimal=False), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_rate_buckets")),
    )


def downgrade() -> None:
    op.drop_table("rate_buckets")
    op.drop_table("job_periods")
