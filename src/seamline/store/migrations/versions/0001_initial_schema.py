"""initial schema: catalog, locations, channels, ledger, auth

Revision ID: 0001
Revises:
Create Date: 2026-11-22 15:56:41.968458
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from seamline.store.types import UTCDateTime

# Frozen here on purpose: a later change to the ledger's list must come with its own migration.
VIRTUAL_LOCATIONS = {
    "supplier": "Suppliers",
    "customer": "Customers",
    "in_transit": "In transit",
    "adjustment": "Adjustments (shrink and gain)",
    "damaged": "Damaged / quarantine",
    "samples": "Samples",
}

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "allocations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("document", sa.String(length=128), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("hold_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("qty > 0", name=op.f("ck_allocations_qty_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocations")),
    )
    with op.batch_alter_table("allocations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_allocations_document"), ["document"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_allocations_sku_location_status"), ["sku", "location", "status"], unique=False
        )

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_table(
        "balances",
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("on_hand", sa.Integer(), nullable=False),
        sa.Column("committed", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False),
        sa.CheckConstraint("committed >= 0", name=op.f("ck_balances_committed_not_negative")),
        sa.CheckConstraint("reserved >= 0", name=op.f("ck_balances_reserved_not_negative")),
        sa.PrimaryKeyConstraint("sku", "location", name=op.f("pk_balances")),
    )
    with op.batch_alter_table("balances", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_balances_location_sku"), ["location", "sku"], unique=False)

    op.create_table(
        "channels",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("safety_stock", sa.Integer(), nullable=False),
        sa.Column("pause_below", sa.Integer(), nullable=False),
        sa.Column("allow_split", sa.Boolean(), nullable=False),
        sa.Column("on_shortage", sa.String(length=16), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_channels")),
    )
    op.create_table(
        "holds",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("document", sa.String(length=128), nullable=True),
        sa.Column("trace_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holds")),
    )
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_holds_status_expires_at"), ["status", "expires_at"], unique=False)

    op.create_table(
        "idempotency_records",
        sa.Column("principal", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("principal", "key", name=op.f("pk_idempotency_records")),
    )
    op.create_table(
        "locations",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("virtual", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_locations")),
    )
    op.create_table(
        "styles",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("season", sa.String(length=32), nullable=True),
        sa.Column("category", sa.String(length=100), nullable=True),
        sa.Column("size_scale", sa.JSON(), nullable=False),
        sa.Column("fits", sa.JSON(), nullable=False),
        sa.Column("colours", sa.JSON(), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("tax_class", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_styles")),
    )
    op.create_table(
        "hold_lines",
        sa.Column("hold_id", sa.String(length=40), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.CheckConstraint("qty > 0", name=op.f("ck_hold_lines_qty_positive")),
        sa.ForeignKeyConstraint(["hold_id"], ["holds.id"], name=op.f("fk_hold_lines_hold_id_holds")),
        sa.PrimaryKeyConstraint("hold_id", "line_no", name=op.f("pk_hold_lines")),
    )
    with op.batch_alter_table("hold_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hold_lines_sku_location"), ["sku", "location"], unique=False)

    op.create_table(
        "prices",
        sa.Column("style_code", sa.String(length=64), nullable=False),
        sa.Column("list", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.ForeignKeyConstraint(["style_code"], ["styles.code"], name=op.f("fk_prices_style_code_styles")),
        sa.PrimaryKeyConstraint("style_code", "list", "currency", name=op.f("pk_prices")),
    )
    op.create_table(
        "skus",
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("style_code", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("colour", sa.String(length=64), nullable=True),
        sa.Column("size", sa.String(length=64), nullable=True),
        sa.Column("fit", sa.String(length=64), nullable=True),
        sa.Column("gtin", sa.String(length=14), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["style_code"], ["styles.code"], name=op.f("fk_skus_style_code_styles")),
        sa.PrimaryKeyConstraint("sku", name=op.f("pk_skus")),
        sa.UniqueConstraint("gtin", name=op.f("uq_skus_gtin")),
    )
    with op.batch_alter_table("skus", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_skus_style_code"), ["style_code"], unique=False)

    op.create_table(
        "channel_sku_policies",
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("safety_stock", sa.Integer(), nullable=True),
        sa.Column("ring_fence", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["channel"], ["channels.code"], name=op.f("fk_channel_sku_policies_channel_channels")),
        sa.ForeignKeyConstraint(["sku"], ["skus.sku"], name=op.f("fk_channel_sku_policies_sku_skus")),
        sa.PrimaryKeyConstraint("channel", "sku", name=op.f("pk_channel_sku_policies")),
    )
    op.create_table(
        "movements",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("from_location", sa.String(length=64), nullable=False),
        sa.Column("to_location", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("document", sa.String(length=128), nullable=True),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("trace_id", sa.String(length=64), nullable=True),
        sa.CheckConstraint("from_location <> to_location", name=op.f("ck_movements_two_sides")),
        sa.CheckConstraint("qty > 0", name=op.f("ck_movements_qty_positive")),
        sa.ForeignKeyConstraint(
            ["from_location"], ["locations.code"], name=op.f("fk_movements_from_location_locations")
        ),
        sa.ForeignKeyConstraint(["sku"], ["skus.sku"], name=op.f("fk_movements_sku_skus")),
        sa.ForeignKeyConstraint(["to_location"], ["locations.code"], name=op.f("fk_movements_to_location_locations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_movements")),
    )
    with op.batch_alter_table("movements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_movements_document"), ["document"], unique=False)
        batch_op.create_index(batch_op.f("ix_movements_sku_id"), ["sku", "id"], unique=False)

    op.create_table(
        "prepack_components",
        sa.Column("pack_sku", sa.String(length=64), nullable=False),
        sa.Column("component_sku", sa.String(length=64), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.CheckConstraint("units > 0", name=op.f("ck_prepack_components_units_positive")),
        sa.ForeignKeyConstraint(["component_sku"], ["skus.sku"], name=op.f("fk_prepack_components_component_sku_skus")),
        sa.ForeignKeyConstraint(["pack_sku"], ["skus.sku"], name=op.f("fk_prepack_components_pack_sku_skus")),
        sa.PrimaryKeyConstraint("pack_sku", "component_sku", name=op.f("pk_prepack_components")),
    )
    _seed_virtual_locations()


def _seed_virtual_locations() -> None:
    """Every movement has two sides, so the virtual locations exist before the first receipt."""
    now = datetime.now(UTC)
    table = sa.table(
        "locations",
        sa.column("code", sa.String),
        sa.column("name", sa.String),
        sa.column("kind", sa.String),
        sa.column("virtual", sa.Boolean),
        sa.column("created_at", UTCDateTime()),
        sa.column("updated_at", UTCDateTime()),
    )
    op.bulk_insert(
        table,
        [
            {"code": code, "name": name, "kind": code, "virtual": True, "created_at": now, "updated_at": now}
            for code, name in VIRTUAL_LOCATIONS.items()
        ],
    )


def downgrade() -> None:
    op.drop_table("prepack_components")
    with op.batch_alter_table("movements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_movements_sku_id"))
        batch_op.drop_index(batch_op.f("ix_movements_document"))

    op.drop_table("movements")
    op.drop_table("channel_sku_policies")
    with op.batch_alter_table("skus", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_skus_style_code"))

    op.drop_table("skus")
    op.drop_table("prices")
    with op.batch_alter_table("hold_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hold_lines_sku_location"))

    op.drop_table("hold_lines")
    op.drop_table("styles")
    op.drop_table("locations")
    op.drop_table("idempotency_records")
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_holds_status_expires_at"))

    op.drop_table("holds")
    op.drop_table("channels")
    with op.batch_alter_table("balances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_balances_location_sku"))

    op.drop_table("balances")
    op.drop_table("api_tokens")
    with op.batch_alter_table("allocations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_allocations_sku_location_status"))
        batch_op.drop_index(batch_op.f("ix_allocations_document"))

    op.drop_table("allocations")
