"""marketplaces and wholesale B2B: listing state, bulk imports, issues, pauses, pull cursors, wholesale accounts,
B2B orders and inbound supply (issue 7)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 16:53:42.414138
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from seamline.store.types import UTCDateTime

revision = "0004"
# Numbered after the integration migration (0003); a concurrent finance migration takes the next free number.
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "listing_issues",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("marketplace", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listing_issues")),
    )
    with op.batch_alter_table("listing_issues", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_listing_issues_channel_sku"), ["channel", "sku"], unique=False)

    op.create_table(
        "listing_pauses",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("atp", sa.Integer(), nullable=False),
        sa.Column("pause_below", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listing_pauses")),
        sa.UniqueConstraint("event_id", name=op.f("uq_listing_pauses_event_id")),
    )
    with op.batch_alter_table("listing_pauses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_listing_pauses_channel_at"), ["channel", "at"], unique=False)

    op.create_table(
        "marketplace_cursors",
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("channel", "name", name=op.f("pk_marketplace_cursors")),
    )
    op.create_table(
        "marketplace_imports",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("platform_status", sa.String(length=40), nullable=True),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("submitted_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketplace_imports")),
    )
    with op.batch_alter_table("marketplace_imports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_marketplace_imports_channel_status"), ["channel", "status"], unique=False)

    op.create_table(
        "wholesale_accounts",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("price_tier", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("allow_prebook", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["channel"], ["channels.code"], name=op.f("fk_wholesale_accounts_channel_channels")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_wholesale_accounts")),
    )
    op.create_table(
        "b2b_orders",
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("po_number", sa.String(length=200), nullable=False),
        sa.Column("placed_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account"], ["wholesale_accounts.code"], name=op.f("fk_b2b_orders_account_wholesale_accounts")
        ),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_b2b_orders_order_id_orders")),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_b2b_orders")),
        sa.UniqueConstraint("account", "po_number", name=op.f("uq_b2b_orders_account_po_number")),
    )
    with op.batch_alter_table("b2b_orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_b2b_orders_account_placed_at"), ["account", "placed_at"], unique=False)

    op.create_table(
        "inbound_supply",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("expected_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("qty > 0", name=op.f("ck_inbound_supply_qty_positive")),
        sa.CheckConstraint("received >= 0", name=op.f("ck_inbound_supply_received_not_negative")),
        sa.ForeignKeyConstraint(["location"], ["locations.code"], name=op.f("fk_inbound_supply_location_locations")),
        sa.ForeignKeyConstraint(["sku"], ["skus.sku"], name=op.f("fk_inbound_supply_sku_skus")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_supply")),
        sa.UniqueConstraint("reference", "sku", "location", name=op.f("uq_inbound_supply_reference_sku_location")),
    )
    with op.batch_alter_table("inbound_supply", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbound_supply_sku_status"), ["sku", "status"], unique=False)

    op.create_table(
        "marketplace_listings",
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("marketplace", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("seller_sku", sa.String(length=200), nullable=False),
        sa.Column("product_type", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("desired_qty", sa.Integer(), nullable=True),
        sa.Column("desired_seq", sa.BigInteger(), nullable=True),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("published_qty", sa.Integer(), nullable=True),
        sa.Column("published_seq", sa.BigInteger(), nullable=True),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.Column("in_flight", sa.BigInteger(), nullable=True),
        sa.Column("last_submission", sa.String(length=100), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["sku"], ["skus.sku"], name=op.f("fk_marketplace_listings_sku_skus")),
        sa.PrimaryKeyConstraint("channel", "marketplace", "sku", name=op.f("pk_marketplace_listings")),
    )
    with op.batch_alter_table("marketplace_listings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_marketplace_listings_channel_status"), ["channel", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("marketplace_listings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_marketplace_listings_channel_status"))

    op.drop_table("marketplace_listings")
    with op.batch_alter_table("inbound_supply", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbound_supply_sku_status"))

    op.drop_table("inbound_supply")
    with op.batch_alter_table("b2b_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_b2b_orders_account_placed_at"))

    op.drop_table("b2b_orders")
    op.drop_table("wholesale_accounts")
    with op.batch_alter_table("marketplace_imports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_marketplace_imports_channel_status"))

    op.drop_table("marketplace_imports")
    op.drop_table("marketplace_cursors")
    with op.batch_alter_table("listing_pauses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_listing_pauses_channel_at"))

    op.drop_table("listing_pauses")
    with op.batch_alter_table("listing_issues", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_listing_issues_channel_sku"))

    op.drop_table("listing_issues")
