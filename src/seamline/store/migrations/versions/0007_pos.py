"""POS tills: offline batches, till catalog versions; accounting connections (issue 6)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 18:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from seamline.store.types import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "till_batches",
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("till", sa.String(length=64), nullable=False),
        sa.Column("batch_id", sa.String(length=128), nullable=False),
        sa.Column("body_hash", sa.String(length=64), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=True),
        sa.Column("sales", sa.Integer(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("location", "till", "batch_id", name=op.f("pk_till_batches")),
    )
    op.create_table(
        "till_catalog_versions",
        sa.Column("price_list", sa.String(length=64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("price_list", name=op.f("pk_till_catalog_versions")),
    )
    op.create_table(
        "till_catalog_items",
        sa.Column("price_list", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("price_list", "sku", name=op.f("pk_till_catalog_items")),
    )
    op.create_index(
        op.f("ix_till_catalog_items_price_list_version"), "till_catalog_items", ["price_list", "version"], unique=False
    )
    op.create_table(
        "till_catalog_acks",
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("till", sa.String(length=64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("acked_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("location", "till", name=op.f("pk_till_catalog_acks")),
    )
    op.create_table(
        "channel_catalog_refs",
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("style_code", sa.String(length=64), nullable=False),
        sa.Column("refs", sa.JSON(), nullable=False),
        sa.Column("style_version", sa.Integer(), nullable=False),
        sa.Column("pushed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("channel", "style_code", name=op.f("pk_channel_catalog_refs")),
    )
    op.create_table(
        "pos_count_drifts",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("theirs", sa.Integer(), nullable=False),
        sa.Column("ours", sa.Integer(), nullable=False),
        sa.Column("detected_at", UTCDateTime(), nullable=False),
        sa.Column("repushed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pos_count_drifts")),
    )
    op.create_index(op.f("ix_pos_count_drifts_location_sku"), "pos_count_drifts", ["location", "sku"], unique=False)
    op.create_table(
        "accounting_connections",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_accounting_connections")),
    )


def downgrade() -> None:
    op.drop_table("accounting_connections")
    op.drop_index(op.f("ix_pos_count_drifts_location_sku"), table_name="pos_count_drifts")
    op.drop_table("pos_count_drifts")
    op.drop_table("channel_catalog_refs")
    op.drop_table("till_catalog_acks")
    op.drop_index(op.f("ix_till_catalog_items_price_list_version"), table_name="till_catalog_items")
    op.drop_table("till_catalog_items")
    op.drop_table("till_catalog_versions")
    op.drop_table("till_batches")
