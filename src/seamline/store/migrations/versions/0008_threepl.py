"""3PL: variance reports, pick tickets and ship notices sent (issue 7)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 18:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from seamline.store.types import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "threepl_variance_reports",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("inbox_message_id", _ID, nullable=True),
        sa.Column("file_name", sa.String(length=255), nullable=True),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=True),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("agreeing", sa.Integer(), nullable=False),
        sa.Column("clean", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_threepl_variance_reports")),
    )
    with op.batch_alter_table("threepl_variance_reports", schema=None) as batch_op:
        batch_op.create_index("ix_threepl_variance_reports_channel_id", ["channel", "id"], unique=False)

    op.create_table(
        "threepl_variance_lines",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("report_id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=True),
        sa.Column("item", sa.String(length=255), nullable=False),
        sa.Column("measure", sa.String(length=16), nullable=False),
        sa.Column("threepl_qty", sa.Integer(), nullable=True),
        sa.Column("ledger_qty", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["threepl_variance_reports.id"],
            name=op.f("fk_threepl_variance_lines_report_id_threepl_variance_reports"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_threepl_variance_lines")),
    )
    with op.batch_alter_table("threepl_variance_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_threepl_variance_lines_report_id"), ["report_id"], unique=False)

    op.create_table(
        "threepl_pick_tickets",
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("control_number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("channel", "order_id", name=op.f("pk_threepl_pick_tickets")),
        sa.UniqueConstraint("channel", "control_number", name=op.f("uq_threepl_pick_tickets_channel_control_number")),
    )

    op.create_table(
        "threepl_ship_notices",
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("transfer_id", sa.String(length=40), nullable=False),
        sa.Column("control_number", sa.Integer(), nullable=False),
        sa.Column("sscc", sa.String(length=18), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("channel", "transfer_id", name=op.f("pk_threepl_ship_notices")),
        sa.UniqueConstraint("channel", "control_number", name=op.f("uq_threepl_ship_notices_channel_control_number")),
    )


def downgrade() -> None:
    op.drop_table("threepl_ship_notices")
    op.drop_table("threepl_pick_tickets")
    with op.batch_alter_table("threepl_variance_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_threepl_variance_lines_report_id"))
    op.drop_table("threepl_variance_lines")
    with op.batch_alter_table("threepl_variance_reports", schema=None) as batch_op:
        batch_op.drop_index("ix_threepl_variance_reports_channel_id")
    op.drop_table("threepl_variance_reports")
