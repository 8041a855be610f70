"""orders: one order queue, returns, transfers, counts, customers, oversell exceptions (DESIGN 5, 6)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 16:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from seamline.store.types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("email", name=op.f("uq_customers_email")),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customers_phone"), ["phone"], unique=False)

    op.create_table(
        "oversell_exceptions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("cause", sa.String(length=16), nullable=False),
        sa.Column("document", sa.String(length=128), nullable=False),
        sa.Column("movement_id", sa.BigInteger(), nullable=True),
        sa.Column("short_allocations", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("units > 0", name=op.f("ck_oversell_exceptions_units_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oversell_exceptions")),
    )
    with op.batch_alter_table("oversell_exceptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oversell_exceptions_sku_location"), ["sku", "location"], unique=False)

    op.create_table(
        "counts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("posted_at", UTCDateTime(), nullable=True),
        sa.Column("trace_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["location"], ["locations.code"], name=op.f("fk_counts_location_locations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_counts")),
    )
    op.create_table(
        "customer_conflicts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("other_customer_id", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("document", sa.String(length=128), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_customer_conflicts_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["other_customer_id"], ["customers.id"], name=op.f("fk_customer_conflicts_other_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_conflicts")),
    )
    op.create_table(
        "orders",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=True),
        sa.Column("location", sa.String(length=64), nullable=True),
        sa.Column("price_tier", sa.String(length=64), nullable=True),
        sa.Column("ship_start", sa.Date(), nullable=True),
        sa.Column("cancel_date", sa.Date(), nullable=True),
        sa.Column("prebook", sa.Boolean(), nullable=False),
        sa.Column("tracking", sa.String(length=200), nullable=True),
        sa.Column("exchange_of", sa.String(length=40), nullable=True),
        sa.Column("hold_id", sa.String(length=40), nullable=True),
        sa.Column("placed_at", UTCDateTime(), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("trace_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_orders_customer_id_customers")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_orders")),
        sa.UniqueConstraint("channel", "external_id", name=op.f("uq_orders_channel_external_id")),
        sa.UniqueConstraint("id", name=op.f("uq_orders_id")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_orders_channel_seq"), ["channel", "seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_orders_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_orders_status_seq"), ["status", "seq"], unique=False)

    op.create_table(
        "transfers",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("from_location", sa.String(length=64), nullable=False),
        sa.Column("to_location", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("shipped_at", UTCDateTime(), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=True),
        sa.Column("trace_id", sa.String(length=64), nullable=True),
        sa.CheckConstraint("from_location <> to_location", name=op.f("ck_transfers_two_sides")),
        sa.ForeignKeyConstraint(
            ["from_location"], ["locations.code"], name=op.f("fk_transfers_from_location_locations")
        ),
        sa.ForeignKeyConstraint(["to_location"], ["locations.code"], name=op.f("fk_transfers_to_location_locations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfers")),
    )
    op.create_table(
        "count_lines",
        sa.Column("count_id", sa.String(length=40), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("expected", sa.Integer(), nullable=True),
        sa.Column("on_hand_at_entry", sa.Integer(), nullable=True),
        sa.Column("counted", sa.Integer(), nullable=True),
        sa.Column("entered_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint("counted >= 0", name=op.f("ck_count_lines_counted_not_negative")),
        sa.ForeignKeyConstraint(["count_id"], ["counts.id"], name=op.f("fk_count_lines_count_id_counts")),
        sa.ForeignKeyConstraint(["sku"], ["skus.sku"], name=op.f("fk_count_lines_sku_skus")),
        sa.PrimaryKeyConstraint("count_id", "sku", name=op.f("pk_count_lines")),
    )
    op.create_table(
        "order_lines",
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("allocated", sa.Integer(), nullable=False),
        sa.Column("picked", sa.Integer(), nullable=False),
        sa.Column("packed", sa.Integer(), nullable=False),
        sa.Column("shipped", sa.Integer(), nullable=False),
        sa.Column("cancelled", sa.Integer(), nullable=False),
        sa.Column("returned", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "allocated >= 0 AND cancelled >= 0 AND shipped >= 0 AND packed >= shipped AND picked >= packed"
            " AND returned >= 0 AND returned <= picked AND allocated + picked + cancelled <= qty",
            name=op.f("ck_order_lines_stages_consistent"),
        ),
        sa.CheckConstraint("qty > 0", name=op.f("ck_order_lines_qty_positive")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_order_lines_order_id_orders")),
        sa.ForeignKeyConstraint(["sku"], ["skus.sku"], name=op.f("fk_order_lines_sku_skus")),
        sa.PrimaryKeyConstraint("order_id", "line_no", name=op.f("pk_order_lines")),
    )
    op.create_table(
        "order_tenders",
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_order_tenders_order_id_orders")),
        sa.PrimaryKeyConstraint("order_id", "seq", name=op.f("pk_order_tenders")),
    )
    op.create_table(
        "returns",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("refund_total", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("exchange_order_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("trace_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["location"], ["locations.code"], name=op.f("fk_returns_location_locations")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_returns_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_returns")),
    )
    with op.batch_alter_table("returns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_returns_order_id"), ["order_id"], unique=False)

    op.create_table(
        "transfer_lines",
        sa.Column("transfer_id", sa.String(length=40), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("received", sa.Integer(), nullable=True),
        sa.CheckConstraint("qty >= 0", name=op.f("ck_transfer_lines_qty_not_negative")),
        sa.ForeignKeyConstraint(["sku"], ["skus.sku"], name=op.f("fk_transfer_lines_sku_skus")),
        sa.ForeignKeyConstraint(
            ["transfer_id"], ["transfers.id"], name=op.f("fk_transfer_lines_transfer_id_transfers")
        ),
        sa.PrimaryKeyConstraint("transfer_id", "sku", name=op.f("pk_transfer_lines")),
    )
    op.create_table(
        "refunds",
        sa.Column("return_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("tender", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_refunds_order_id_orders")),
        sa.ForeignKeyConstraint(["return_id"], ["returns.id"], name=op.f("fk_refunds_return_id_returns")),
        sa.PrimaryKeyConstraint("return_id", "seq", name=op.f("pk_refunds")),
    )
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refunds_order_id"), ["order_id"], unique=False)

    op.create_table(
        "return_lines",
        sa.Column("return_id", sa.String(length=40), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("order_line_no", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("condition", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.CheckConstraint("qty > 0", name=op.f("ck_return_lines_qty_positive")),
        sa.ForeignKeyConstraint(["return_id"], ["returns.id"], name=op.f("fk_return_lines_return_id_returns")),
        sa.PrimaryKeyConstraint("return_id", "line_no", name=op.f("pk_return_lines")),
    )


def downgrade() -> None:
    op.drop_table("return_lines")
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refunds_order_id"))

    op.drop_table("refunds")
    op.drop_table("transfer_lines")
    with op.batch_alter_table("returns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_returns_order_id"))

    op.drop_table("returns")
    op.drop_table("order_tenders")
    op.drop_table("order_lines")
    op.drop_table("count_lines")
    op.drop_table("transfers")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_status_seq"))
        batch_op.drop_index(batch_op.f("ix_orders_customer_id"))
        batch_op.drop_index(batch_op.f("ix_orders_channel_seq"))

    op.drop_table("orders")
    op.drop_table("customer_conflicts")
    op.drop_table("counts")
    with op.batch_alter_table("oversell_exceptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oversell_exceptions_sku_location"))

    op.drop_table("oversell_exceptions")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customers_phone"))

    op.drop_table("customers")
