"""money that ties out (issue 17): the channel's commercial truth on orders and returns, finance holds,
and each document's export state per accounting connection

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 19:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from seamline.store.types import UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("commerce", sa.JSON(), nullable=True))
    with op.batch_alter_table("returns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("commerce", sa.JSON(), nullable=True))
    with op.batch_alter_table("finance_documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("units", sa.Integer(), nullable=True))
    op.create_table(
        "finance_holds",
        sa.Column("source_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=True),
        sa.Column("return_id", sa.String(length=40), nullable=True),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("source_key", name=op.f("pk_finance_holds")),
    )
    with op.batch_alter_table("finance_holds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_finance_holds_order_id"), ["order_id"], unique=False)
    op.create_table(
        "finance_export_states",
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("document_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=True),
        sa.Column("messages", sa.JSON(), nullable=False),
        sa.Column("remote_total", sa.Numeric(precision=14, scale=4), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("target", "document_id", name=op.f("pk_finance_export_states")),
    )
    with op.batch_alter_table("finance_export_states", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_finance_export_states_status_target"), ["status", "target"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("finance_export_states", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_finance_export_states_status_target"))
    op.drop_table("finance_export_states")
    with op.batch_alter_table("finance_holds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_finance_holds_order_id"))
    op.drop_table("finance_holds")
    with op.batch_alter_table("finance_documents", schema=None) as batch_op:
        batch_op.drop_column("units")
    with op.batch_alter_table("returns", schema=None) as batch_op:
        batch_op.drop_column("commerce")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("commerce")
