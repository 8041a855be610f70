"""shopify mappings (issue 5): products, variants and locations per channel, applied documents, drift

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 18:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from seamline.store.types import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shopify_products",
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("style", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=32), nullable=False),
        sa.Column("handle", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("published_version", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("channel", "style", name=op.f("pk_shopify_products")),
        sa.UniqueConstraint("channel", "product_id", name=op.f("uq_shopify_products_channel_product_id")),
    )
    op.create_table(
        "shopify_variants",
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=32), nullable=False),
        sa.Column("variant_id", sa.String(length=32), nullable=False),
        sa.Column("inventory_item_id", sa.String(length=32), nullable=False),
        sa.Column("linked_by", sa.String(length=16), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("channel", "sku", name=op.f("pk_shopify_variants")),
        sa.UniqueConstraint("channel", "variant_id", name=op.f("uq_shopify_variants_channel_variant_id")),
    )
    op.create_index(
        "ix_shopify_variants_channel_inventory_item_id",
        "shopify_variants",
        ["channel", "inventory_item_id"],
        unique=False,
    )
    op.create_table(
        "shopify_locations",
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("location_id", sa.String(length=32), nullable=False),
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("channel", "location_id", name=op.f("pk_shopify_locations")),
    )
    op.create_table(
        "shopify_documents",
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("document", sa.String(length=64), nullable=True),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("channel", "kind", "external_id", name=op.f("pk_shopify_documents")),
    )
    op.create_table(
        "shopify_drift",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=True),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("ours", sa.Text(), nullable=True),
        sa.Column("theirs", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shopify_drift")),
    )
    op.create_index("ix_shopify_drift_channel_id", "shopify_drift", ["channel", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_shopify_drift_channel_id", table_name="shopify_drift")
    op.drop_table("shopify_drift")
    op.drop_table("shopify_documents")
    op.drop_table("shopify_locations")
    op.drop_index("ix_shopify_variants_channel_inventory_item_id", table_name="shopify_variants")
    op.drop_table("shopify_variants")
    op.drop_table("shopify_products")
