"""stores and EDI: non-stock parts of till orders; X12 functional acknowledgements

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 19:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from seamline.store.types import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pos_sale_extras",
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("uid", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=True),
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("amount", sa.Numeric(14, 4), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("channel", "external_id", "uid", name=op.f("pk_pos_sale_extras")),
    )
    with op.batch_alter_table("pos_sale_extras", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pos_sale_extras_location_occurred_at"), ["location", "occurred_at"], unique=False
        )
    op.create_table(
        "threepl_functional_acks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("functional_id", sa.String(length=2), nullable=False),
        sa.Column("group_control_number", sa.String(length=9), nullable=False),
        sa.Column("status", sa.String(length=1), nullable=False),
        sa.Column("interchange_control_number", sa.Integer(), nullable=True),
        sa.Column("file_name", sa.String(length=255), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_threepl_functional_acks")),
        sa.UniqueConstraint(
            "channel",
            "direction",
            "functional_id",
            "group_control_number",
            name=op.f("uq_threepl_functional_acks_channel_direction_functional_id_group_control_number"),
        ),
    )


def downgrade() -> None:
    op.drop_table("threepl_functional_acks")
    with op.batch_alter_table("pos_sale_extras", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pos_sale_extras_location_occurred_at"))
    op.drop_table("pos_sale_extras")
