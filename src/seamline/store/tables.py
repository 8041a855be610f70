"""The schema, as SQLAlchemy Core. Alembic migrations create exactly this (a test compares them)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
)

from seamline.store.types import UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")
Code = String(64)

locations = Table(
    "locations",
    metadata,
    Column("code", Code, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("virtual", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

styles = Table(
    "styles",
    metadata,
    Column("code", Code, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("season", String(32)),
    Column("category", String(100)),
    Column("size_scale", JSON, nullable=False),
    Column("fits", JSON, nullable=False),
    Column("colours", JSON, nullable=False),
    Column("attributes", JSON, nullable=False),
    Column("tax_class", String(64)),
    Column("status", String(32), nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

skus = Table(
    "skus",
    metadata,
    Column("sku", Code, primary_key=True),
    Column("style_code", Code, ForeignKey("styles.code"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # variant | prepack
    Column("colour", Code),
    Column("size", Code),
    Column("fit", Code),
    Column("gtin", String(14), unique=True),
    Column("status", String(32), nullable=False),
    Column("position", Integer, nullable=False),
)

prepack_components = Table(
    "prepack_components",
    metadata,
    Column("pack_sku", Code, ForeignKey("skus.sku"), primary_key=True),
    Column("component_sku", Code, ForeignKey("skus.sku"), primary_key=True),
    Column("units", Integer, nullable=False),
    CheckConstraint("units > 0", name="units_positive"),
)

prices = Table(
    "prices",
    metadata,
    Column("style_code", Code, ForeignKey("styles.code"), primary_key=True),
    Column("list", Code, primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("amount", Numeric(14, 4), nullable=False),
)

channels = Table(
    "channels",
    metadata,
    Column("code", Code, primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("sources", JSON, nullable=False),
    Column("safety_stock", Integer, nullable=False),
    Column("pause_below", Integer, nullable=False),
    Column("allow_split", Boolean, nullable=False),
    Column("on_shortage", String(16), nullable=False),  # reject | backorder
    Column("settings", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

channel_sku_policies = Table(
    "channel_sku_policies",
    metadata,
    Column("channel", Code, ForeignKey("channels.code"), primary_key=True),
    Column("sku", Code, ForeignKey("skus.sku"), primary_key=True),
    Column("safety_stock", Integer),
    Column("ring_fence", Integer, nullable=False, default=0),
)

movements = Table(
    "movements",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("sku", Code, ForeignKey("skus.sku"), nullable=False),
    Column("qty", Integer, nullable=False),
    Column("from_location", Code, ForeignKey("locations.code"), nullable=False),
    Column("to_location", Code, ForeignKey("locations.code"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("document", String(128)),
    Column("channel", Code),
    Column("reason", Text),
    Column("idempotency_key", String(200)),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("trace_id", String(64)),
    CheckConstraint("qty > 0", name="qty_positive"),
    CheckConstraint("from_location <> to_location", name="two_sides"),
    Index(None, "sku", "id"),
    Index(None, "document"),
)

balances = Table(
    "balances",
    metadata,
    Column("sku", Code, primary_key=True),
    Column("location", Code, primary_key=True),
    Column("on_hand", Integer, nullable=False),
    Column("committed", Integer, nullable=False),
    Column("reserved", Integer, nullable=False),
    CheckConstraint("committed >= 0", name="committed_not_negative"),
    CheckConstraint("reserved >= 0", name="reserved_not_negative"),
    Index(None, "location", "sku"),
)

holds = Table(
    "holds",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("channel", Code),
    Column("status", String(16), nullable=False),  # held | committed | released | expired
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),
    Column("document", String(128)),
    Column("trace_id", String(64)),
    Index(None, "status", "expires_at"),
)

hold_lines = Table(
    "hold_lines",
    metadata,
    Column("hold_id", String(40), ForeignKey("holds.id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("sku", Code, nullable=False),
    Column("location", Code, nullable=False),
    Column("qty", Integer, nullable=False),
    CheckConstraint("qty > 0", name="qty_positive"),
    Index(None, "sku", "location"),
)

allocations = Table(
    "allocations",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("document", String(128), nullable=False),
    Column("sku", Code, nullable=False),
    Column("location", Code, nullable=False),
    Column("qty", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # open | picked | cancelled
    Column("hold_id", String(40)),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("qty > 0", name="qty_positive"),
    Index(None, "sku", "location", "status"),
    Index(None, "document"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("scopes", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
)

idempotency_records = Table(
    "idempotency_records",
    metadata,
    Column("principal", String(40), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
