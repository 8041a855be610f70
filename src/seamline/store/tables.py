"""The schema, as SQLAlchemy Core. Alembic migrations create exactly this (a test compares them)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
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
#: A unit cost (4 decimals, finance.cost.COST_PLACES) and a value at cost (a whole receipt's).
CostAmount = Numeric(14, 4)
CostValue = Numeric(20, 4)

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
    #: ``catalog.content.StyleContent.as_json()``; NULL: no content.
    Column("content", JSON),
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
    Column("qty", BigInteger, nullable=False),
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
    # At cost (finance.cost), set once when written: the unit cost applied, the value moved (base currency),
    # where the cost came from, and the journal entry the value is booked in (None: a pick, booked at its
    # order's shipment; or a movement that stays inside the valued locations).
    Column("unit_cost", CostAmount),
    Column("cost_value", CostValue),
    Column("cost_currency", String(3)),
    Column("cost_source", String(16)),
    Column("cost_cause", String(200)),
    CheckConstraint("qty > 0", name="qty_positive"),
    CheckConstraint("from_location <> to_location", name="two_sides"),
    Index(None, "sku", "id"),
    Index(None, "document"),
)

#: Moving weighted average cost per (sku, location) over the valued locations (finance.cost): a projection
#: of the movements at cost, updated in the movement's transaction (reconcile rebuilds it).
stock_costs = Table(
    "stock_costs",
    metadata,
    Column("sku", Code, primary_key=True),
    Column("location", Code, primary_key=True),
    Column("qty", BigInteger, nullable=False),
    Column("value", CostValue, nullable=False),
    Column("unit_cost", CostAmount, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("unit_cost >= 0", name="unit_cost_not_negative"),
)

#: Units received at nothing (no cost known then) revalued once their cost became known (a standard cost set, a
#: receipt at cost into the same row): a record a person can read, booked as its own journal (``cause``), and
#: counted by valuation as of its ``occurred_at`` beside the movements.
cost_revaluations = Table(
    "cost_revaluations",
    metadata,
    Column("id", Code, primary_key=True),
    Column("sku", Code, nullable=False),
    Column("location", Code, nullable=False),
    Column("units", BigInteger, nullable=False),
    Column("old_unit_cost", CostAmount, nullable=False),
    Column("new_unit_cost", CostAmount, nullable=False),
    Column("amount", CostValue, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("reason", String(200), nullable=False),
    Column("cause", String(200), nullable=False, unique=True),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    CheckConstraint("units > 0", name="units_positive"),
    Index("ix_cost_revaluations_sku_location", "sku", "location"),
)

#: A variant's standard cost: what a receipt without a cost of its own is valued at.
standard_costs = Table(
    "standard_costs",
    metadata,
    Column("sku", Code, ForeignKey("skus.sku"), primary_key=True),
    Column("unit_cost", CostAmount, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("unit_cost >= 0", name="unit_cost_not_negative"),
)

balances = Table(
    "balances",
    metadata,
    Column("sku", Code, primary_key=True),
    Column("location", Code, primary_key=True),
    Column("on_hand", BigInteger, nullable=False),
    Column("committed", BigInteger, nullable=False),
    Column("reserved", BigInteger, nullable=False),
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
    #: After this instant the token is refused (an expiring token, or the old secret of a rotation's grace).
    Column("expires_at", UTCDateTime),
    #: The token that replaced this one (``POST /v1/tokens/{id}/rotate``).
    Column("rotated_to", String(40)),
)

#: Dashboard sessions, so a logout (or revoking the token that logged in) ends them server-side: the cookie
#: carries a random nonce, stored here only as its SHA-256.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("token_id", String(40), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),
    Index(None, "token_id"),
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


# ---------------------------------------------------------------------- integration (DESIGN 8)
inbox_messages = Table(
    "inbox_messages",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("source", Code, nullable=False),
    Column("external_id", String(200), nullable=False),
    Column("message_type", String(100), nullable=False),
    Column("aggregate_key", String(200)),
    Column("aggregate_version", BigInteger),
    Column("headers", JSON, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("status", String(16), nullable=False),  # received | processed | rejected | failed | stale | held
    Column("reason", Text),
    #: What a held message waits for: an aggregate (``order:123``) whose next applied message releases it,
    #: ``handler`` (no handler for its type yet: wiring the channel releases it), or None (rechecked).
    Column("waiting_for", String(200)),
    Column("attempts", Integer, nullable=False),
    Column("duplicates", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("processed_at", UTCDateTime),
    Column("trace_id", String(64)),
    UniqueConstraint("source", "external_id"),
    Index(None, "status", "next_attempt_at"),
    Index(None, "source", "aggregate_key", "id"),
    Index(None, "source", "waiting_for"),
)

inbox_aggregates = Table(
    "inbox_aggregates",
    metadata,
    Column("source", Code, primary_key=True),
    Column("aggregate_key", String(200), primary_key=True),
    Column("applied_version", BigInteger, nullable=False),
    Column("message_id", BigInteger, nullable=False),
    Column("applied_at", UTCDateTime, nullable=False),
)

outbox_events = Table(
    "outbox_events",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("id", String(40), nullable=False, unique=True),
    Column("type", String(64), nullable=False),
    Column("channel", Code),
    Column("coalesce_key", String(200)),
    Column("payload", JSON, nullable=False),
    Column("trace_id", String(64)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("relayed_at", UTCDateTime),
    Index(None, "created_at"),
    Index(None, "relayed_at", "seq"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("event_seq", BigInteger, nullable=False),
    Column("event_id", String(40), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("subscriber", Code, nullable=False),
    Column("coalesce_key", String(200)),
    Column("status", String(16), nullable=False),  # pending | delivered | superseded | dead
    Column("attempts", Integer, nullable=False),
    Column("replays", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("locked_until", UTCDateTime),
    Column("locked_by", String(64)),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime),
    Column("dead_at", UTCDateTime),
    Column("trace_id", String(64)),
    UniqueConstraint("subscriber", "event_id"),
    Index(None, "subscriber", "status", "next_attempt_at"),
    Index(None, "subscriber", "coalesce_key", "status"),
    #: A subscriber's leased deliveries (its batches in flight): found without reading its whole backlog.
    Index(None, "subscriber", "locked_until"),
    Index(None, "status", "created_at"),
    Index(None, "event_seq"),
    Index(None, "trace_id"),
)

delivery_failures = Table(
    "delivery_failures",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("delivery_id", BigInteger, nullable=False),
    Column("subscriber", Code, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("failed_at", UTCDateTime, nullable=False),
    Column("error", Text, nullable=False),
    Index(None, "delivery_id"),
    Index(None, "subscriber", "failed_at"),
)

channel_availability = Table(
    "channel_availability",
    metadata,
    Column("channel", Code, primary_key=True),
    Column("sku", Code, primary_key=True),
    Column("atp", BigInteger),  # null until first computed; the row is also the per-(channel, sku) lock
    Column("paused", Boolean),
    Column("event_id", String(40)),
    Column("updated_at", UTCDateTime, nullable=False),
)

# The availability journal: a writing transaction appends the balance rows it changed (append-only, no
# conflicts between writers); the availability publisher turns them into AvailabilityChanged events and
# deletes them, in one transaction. DESIGN 4.4 / issue 4.
availability_dirty = Table(
    "availability_dirty",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("sku", Code, nullable=False),
    Column("location", Code, nullable=False),
    Column("trace_id", String(64)),
    Column("created_at", UTCDateTime, nullable=False),
)

published_availability = Table(
    "published_availability",
    metadata,
    Column("subscriber", Code, primary_key=True),
    Column("channel", Code, primary_key=True),
    Column("sku", Code, primary_key=True),
    Column("available", BigInteger, nullable=False),
    Column("atp", BigInteger, nullable=False),
    Column("paused", Boolean, nullable=False),
    Column("event_seq", BigInteger, nullable=False),
    Column("event_id", String(40), nullable=False),
    Column("published_at", UTCDateTime, nullable=False),
)

# ---------------------------------------------------------------------------------------------------------
# The one order queue (DESIGN 5) and customers (DESIGN 6): migration 0002.
# ---------------------------------------------------------------------------------------------------------
Money = Numeric(14, 4)

customers = Table(
    "customers",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("email", String(320), unique=True),  # normalised: domain lowercased, local part case-folded
    Column("phone", String(20)),  # E.164; not unique: a conflict can leave two customers sharing one
    Column("name", String(200)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(None, "phone"),
)

customer_conflicts = Table(
    "customer_conflicts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("customer_id", String(40), ForeignKey("customers.id"), nullable=False),
    Column("other_customer_id", String(40), ForeignKey("customers.id"), nullable=False),
    Column("email", String(320)),
    Column("phone", String(20)),
    Column("document", String(128)),
    Column("created_at", UTCDateTime, nullable=False),
)

orders = Table(
    "orders",
    metadata,
    # ``seq`` orders the queue (and its cursor); ``id`` is what clients and movements name.
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("id", String(40), nullable=False, unique=True),
    Column("channel", Code, nullable=False),
    Column("external_id", String(200), nullable=False),
    Column("kind", String(16), nullable=False),  # dtc | pos | marketplace | wholesale
    Column("status", String(24), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("total", Money, nullable=False),
    Column("customer_id", String(40), ForeignKey("customers.id")),
    Column("location", Code),  # where a POS sale happened
    Column("price_tier", Code),
    Column("ship_start", Date),
    Column("cancel_date", Date),
    Column("prebook", Boolean, nullable=False),
    Column("tracking", String(200)),
    Column("exchange_of", String(40)),  # the return this order replaces goods for
    Column("hold_id", String(40)),
    Column("placed_at", UTCDateTime, nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("trace_id", String(64)),
    # The channel's commercial truth (domain/commerce.py ``OrderCommerce``): prices, discounts, tax, shipping,
    # addresses, payments and the channel's own total, as the channel computed them.
    Column("commerce", JSON),
    UniqueConstraint("channel", "external_id"),
    Index(None, "status", "seq"),
    Index(None, "channel", "seq"),
    Index(None, "customer_id"),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("order_id", String(40), ForeignKey("orders.id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("sku", Code, ForeignKey("skus.sku"), nullable=False),
    Column("qty", Integer, nullable=False),
    Column("unit_price", Money, nullable=False),
    # Units of the line (packs, for a prepack line) at each stage; ``allocated`` is what is open now.
    Column("allocated", Integer, nullable=False),
    Column("picked", Integer, nullable=False),
    Column("packed", Integer, nullable=False),
    Column("shipped", Integer, nullable=False),
    Column("cancelled", Integer, nullable=False),
    Column("returned", Integer, nullable=False),
    CheckConstraint("qty > 0", name="qty_positive"),
    CheckConstraint(
        "allocated >= 0 AND cancelled >= 0 AND shipped >= 0 AND packed >= shipped AND picked >= packed"
        " AND returned >= 0 AND returned <= picked AND allocated + picked + cancelled <= qty",
        name="stages_consistent",
    ),
)

order_tenders = Table(
    "order_tenders",
    metadata,
    Column("order_id", String(40), ForeignKey("orders.id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("type", Code, nullable=False),
    Column("amount", Money, nullable=False),
)

returns = Table(
    "returns",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("order_id", String(40), ForeignKey("orders.id"), nullable=False, index=True),
    Column("location", Code, ForeignKey("locations.code"), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("refund_total", Money, nullable=False),
    Column("exchange_order_id", String(40)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("trace_id", String(64)),
    Column("commerce", JSON),  # what the channel refunded (``RefundCommerce``), when it came from a channel
)

return_lines = Table(
    "return_lines",
    metadata,
    Column("return_id", String(40), ForeignKey("returns.id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("order_line_no", Integer, nullable=False),
    Column("sku", Code, nullable=False),
    Column("qty", Integer, nullable=False),
    Column("condition", String(16), nullable=False),  # sellable | damaged
    Column("amount", Money, nullable=False),
    CheckConstraint("qty > 0", name="qty_positive"),
)

order_shipments = Table(
    "order_shipments",
    metadata,
    # One row per shipment of an order: the units that left together, with their carrier and tracking, so
    # each channel confirms each parcel (partial shipments included) as the ledger recorded it.
    Column("order_id", String(40), ForeignKey("orders.id"), primary_key=True),
    Column("shipment_no", Integer, primary_key=True),
    Column("lines", JSON, nullable=False),  # [{line_no, sku, qty}]
    Column("carrier", String(100)),
    Column("tracking", String(200)),
    Column("shipped_at", UTCDateTime, nullable=False),
)

channel_confirmations = Table(
    "channel_confirmations",
    metadata,
    # What Seamline owes a marketplace and whether it was told: an acceptance decision (kind ``acceptance``,
    # ref the channel's order id), a shipment (``shipment``, ref order id/shipment no), a refund (``refund``,
    # ref the return id). ``sent_at`` is set once the platform took it; the row makes each one happen once.
    Column("channel", Code, primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("ref", String(200), primary_key=True),
    Column("detail", JSON, nullable=False),
    Column("decided_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("error", Text),
)

refunds = Table(
    "refunds",
    metadata,
    Column("return_id", String(40), ForeignKey("returns.id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("order_id", String(40), ForeignKey("orders.id"), nullable=False, index=True),
    Column("tender", Code, nullable=False),
    Column("amount", Money, nullable=False),
)

transfers = Table(
    "transfers",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("from_location", Code, ForeignKey("locations.code"), nullable=False),
    Column("to_location", Code, ForeignKey("locations.code"), nullable=False),
    Column("status", String(16), nullable=False),  # open | in_transit | received | cancelled
    Column("created_at", UTCDateTime, nullable=False),
    Column("shipped_at", UTCDateTime),
    Column("received_at", UTCDateTime),
    Column("trace_id", String(64)),
    CheckConstraint("from_location <> to_location", name="two_sides"),
)

transfer_lines = Table(
    "transfer_lines",
    metadata,
    Column("transfer_id", String(40), ForeignKey("transfers.id"), primary_key=True),
    Column("sku", Code, ForeignKey("skus.sku"), primary_key=True),
    Column("qty", Integer, nullable=False),  # 0 for a SKU that only turned up at receipt
    Column("received", Integer),
    CheckConstraint("qty >= 0", name="qty_not_negative"),
)

counts = Table(
    "counts",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("location", Code, ForeignKey("locations.code"), nullable=False),
    Column("status", String(16), nullable=False),  # open | posted | cancelled
    Column("started_at", UTCDateTime, nullable=False),
    Column("posted_at", UTCDateTime),
    Column("trace_id", String(64)),
)

count_lines = Table(
    "count_lines",
    metadata,
    Column("count_id", String(40), ForeignKey("counts.id"), primary_key=True),
    Column("sku", Code, ForeignKey("skus.sku"), primary_key=True),
    Column("expected", BigInteger),  # on hand when the count started; null for a SKU found during it
    Column("on_hand_at_entry", BigInteger),  # on hand when the counted quantity was entered
    Column("counted", BigInteger),
    Column("entered_at", UTCDateTime),
    CheckConstraint("counted >= 0", name="counted_not_negative"),
)

oversell_exceptions = Table(
    "oversell_exceptions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("sku", Code, nullable=False),
    Column("location", Code, nullable=False),
    Column("units", Integer, nullable=False),
    Column("cause", String(16), nullable=False),  # sale | count
    Column("document", String(128), nullable=False),
    Column("movement_id", BigInteger),
    Column("short_allocations", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("units > 0", name="units_positive"),
    Index(None, "sku", "location"),
)

# ---------------------------------------------------------------------------------------------------------
# Marketplaces and wholesale B2B (issue 7): migration 0004.
# ---------------------------------------------------------------------------------------------------------
marketplace_listings = Table(
    "marketplace_listings",
    metadata,
    # One row per listing: a SKU on one marketplace of one channel (Amazon has one per marketplace id;
    # Mirakl one per shop, marketplace "default").
    Column("channel", Code, primary_key=True),
    Column("marketplace", Code, primary_key=True),
    Column("sku", Code, ForeignKey("skus.sku"), primary_key=True),
    Column("seller_sku", String(200), nullable=False),  # the platform's SKU for it: ours unless mapped
    Column("product_type", String(100)),  # Amazon's productType, required by every listings PATCH
    Column("status", String(16), nullable=False),  # pending | active | paused | error
    Column("desired_qty", BigInteger),  # the number we were last asked to show
    Column("desired_seq", BigInteger),  # the outbox sequence of that request: older ones never win
    Column("paused", Boolean, nullable=False),
    Column("published_qty", BigInteger),  # what the platform accepted last
    Column("published_seq", BigInteger),
    Column("published_at", UTCDateTime),
    Column("in_flight", BigInteger),  # the marketplace_imports row carrying desired_qty, if any
    Column("last_submission", String(100)),  # Amazon submissionId / Mirakl import id / feed id
    Column("last_error", Text),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(None, "channel", "status"),
)

marketplace_imports = Table(
    "marketplace_imports",
    metadata,
    # A bulk submission: a Mirakl offers import (OF01) or an Amazon JSON_LISTINGS_FEED, from upload to report.
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("channel", Code, nullable=False),
    Column("kind", String(32), nullable=False),  # mirakl_offers | amazon_listings_feed
    Column("external_id", String(100)),  # the platform's import id / feed id
    Column("status", String(16), nullable=False),  # submitted | done | failed
    Column("platform_status", String(40)),
    Column("lines", JSON, nullable=False),  # [{line, sku, marketplace, qty, seq}]
    Column("summary", JSON),
    Column("error", Text),
    Column("submitted_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Index(None, "channel", "status"),
)

listing_issues = Table(
    "listing_issues",
    metadata,
    # What a platform said was wrong with a listing submission: a line of an import's error report, an
    # issue of a PATCH or of a feed's processing report.
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("channel", Code, nullable=False),
    Column("marketplace", Code, nullable=False),
    Column("sku", Code, nullable=False),
    Column("source", String(100), nullable=False),  # submission, import or feed id
    Column("code", String(64)),
    Column("severity", String(16), nullable=False),
    Column("message", Text, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index(None, "channel", "sku"),
)

listing_pauses = Table(
    "listing_pauses",
    metadata,
    # Every crossing of a channel's pause threshold (DESIGN 4.4), written in the transaction that crossed it,
    # keyed by the ListingPaused / ListingResumed event it emitted.
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("channel", Code, nullable=False),
    Column("sku", Code, nullable=False),
    Column("action", String(16), nullable=False),  # paused | restored
    Column("atp", BigInteger, nullable=False),
    Column("pause_below", Integer, nullable=False),
    Column("event_id", String(40), nullable=False, unique=True),
    Column("at", UTCDateTime, nullable=False),
    Index(None, "channel", "at"),
)

marketplace_cursors = Table(
    "marketplace_cursors",
    metadata,
    # Where a pull left off (Amazon getOrders: the LastUpdatedBefore it answered), per channel.
    Column("channel", Code, primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("value", String(200), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

wholesale_accounts = Table(
    "wholesale_accounts",
    metadata,
    Column("code", Code, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("channel", Code, ForeignKey("channels.code"), nullable=False),  # the wholesale channel it orders on
    Column("price_tier", Code, nullable=False),  # the price list it buys at (falls back to "wholesale")
    Column("currency", String(3), nullable=False),
    Column("allow_prebook", Boolean, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("payment_terms_days", Integer),  # net days its invoices are due in (None: the books' default)
)

b2b_orders = Table(
    "b2b_orders",
    metadata,
    Column("order_id", String(40), ForeignKey("orders.id"), primary_key=True),
    Column("account", Code, ForeignKey("wholesale_accounts.code"), nullable=False),
    Column("po_number", String(200), nullable=False),
    Column("placed_at", UTCDateTime, nullable=False),
    UniqueConstraint("account", "po_number"),
    Index(None, "account", "placed_at"),
)

inbound_supply = Table(
    "inbound_supply",
    metadata,
    # Units on their way (an open purchase order or a supplier's ASN): what pre-books may be promised from.
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("reference", String(100), nullable=False),  # PO or ASN number
    Column("kind", String(8), nullable=False),  # po | asn
    Column("sku", Code, ForeignKey("skus.sku"), nullable=False),
    Column("location", Code, ForeignKey("locations.code"), nullable=False),
    Column("qty", Integer, nullable=False),
    Column("received", Integer, nullable=False),
    Column("expected_on", Date, nullable=False),
    Column("status", String(16), nullable=False),  # open | received | cancelled
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("qty > 0", name="qty_positive"),
    CheckConstraint("received >= 0", name="received_not_negative"),
    UniqueConstraint("reference", "sku", "location"),
    Index(None, "sku", "status"),
)

# ---------------------------------------------------------------------------------------------------------
# Finance (DESIGN 7, issue 6): migration 0005. Documents and journal entries are written once, never updated
# (a document's ``number`` and ``settlement_id`` are set in the transaction that writes or settles it).
# ---------------------------------------------------------------------------------------------------------
finance_config = Table(
    "finance_config",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # the one row: 1
    Column("config", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

finance_documents = Table(
    "finance_documents",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("id", String(40), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),  # invoice | payment | credit_note | refund | sales_receipt | journal
    Column("number", String(21), unique=True),  # from seq, e.g. INV-00000042 (QuickBooks DocNumber: 21 at most)
    Column("source_key", String(200), nullable=False, unique=True),  # what caused it: posted once per cause
    Column("posting", String(16), nullable=False),  # journal | settlement
    Column("currency", String(3), nullable=False),
    Column("total", Money, nullable=False),
    Column("tax_total", Money, nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("store", Code),
    Column("order_id", String(40)),
    Column("return_id", String(40)),
    Column("applies_to", String(40)),
    Column("settlement_id", String(40)),
    Column("body", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("trace_id", String(64)),
    Column("units", Integer),  # an invoice's units of order lines (shipping, fees and duties are none)
    Index(None, "order_id"),
    Index(None, "return_id"),
    Index(None, "posting", "store", "settlement_id", "issued_on"),
    Index(None, "kind", "seq"),
)

journal_entries = Table(
    "journal_entries",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("id", String(40), nullable=False, unique=True),
    Column("source_key", String(200), nullable=False, unique=True),
    Column("entry_date", Date, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("memo", Text, nullable=False),
    Column("total", Money, nullable=False),
    Column("document_id", String(40)),
    Column("settlement_id", String(40)),
    Column("store", Code),
    Column("tender", Code),
    Column("created_at", UTCDateTime, nullable=False),
    Column("trace_id", String(64)),
    Index(None, "entry_date", "seq"),
    Index(None, "document_id"),
    Index(None, "settlement_id"),
)

journal_lines = Table(
    "journal_lines",
    metadata,
    Column("entry_id", String(40), ForeignKey("journal_entries.id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("account", String(32), nullable=False),
    Column("debit", Money, nullable=False),
    Column("credit", Money, nullable=False),
    Column("memo", Text, nullable=False),
    Column("tax_code", String(32)),
    Column("tender", Code),
    CheckConstraint("debit >= 0 AND credit >= 0 AND (debit = 0 OR credit = 0)", name="one_sided"),
    Index(None, "account"),
)

settlements = Table(
    "settlements",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("store", Code, ForeignKey("locations.code"), nullable=False),
    Column("business_date", Date, nullable=False),
    Column("status", String(16), nullable=False),  # open | closed
    Column("opened_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime),
    Column("figures", JSON),  # frozen at close
    Column("trace_id", String(64)),
    UniqueConstraint("store", "business_date"),
)

settlement_counts = Table(
    "settlement_counts",
    metadata,
    Column("settlement_id", String(40), ForeignKey("settlements.id"), primary_key=True),
    Column("tender", Code, primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("counted", Money, nullable=False),
    Column("cash_float", Money, nullable=False),
    Column("counted_at", UTCDateTime, nullable=False),
    Column("counted_by", String(200)),
)

settlement_cash_movements = Table(
    "settlement_cash_movements",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("settlement_id", String(40), ForeignKey("settlements.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # paid_in | paid_out
    Column("tender", Code, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount", Money, nullable=False),
    Column("reason", Text, nullable=False),
    Column("account", String(32)),
    Column("recorded_at", UTCDateTime, nullable=False),
    CheckConstraint("amount > 0", name="amount_positive"),
)

processor_transactions = Table(
    "processor_transactions",
    metadata,
    Column("processor", Code, primary_key=True),
    Column("external_id", String(64), primary_key=True),  # Stripe's txn_...: imported once
    Column("settlement_id", String(40), ForeignKey("settlements.id"), nullable=False, index=True),
    Column("tender", Code, nullable=False),
    Column("type", String(32), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount", Money, nullable=False),
    Column("fee", Money, nullable=False),
    Column("net", Money, nullable=False),
    Column("created", UTCDateTime, nullable=False),
    Column("raw", JSON, nullable=False),
    Column("imported_at", UTCDateTime, nullable=False),
)

finance_exports = Table(
    "finance_exports",
    metadata,
    Column("target", Code, primary_key=True),  # the accounting subscriber, e.g. xero:books
    Column("document_id", String(40), primary_key=True),
    Column("entity", String(32), nullable=False),  # Invoice, CreditNote, Payment, ManualJournal, JournalEntry...
    Column("external_id", String(64), nullable=False),
    Column("external_number", String(64)),
    Column("exported_at", UTCDateTime, nullable=False),
    # The receivable customer the platform booked the document on (QuickBooks' CustomerRef value): a payment or
    # credit memo for it must name the same one, whatever the connection's receivables setting is now.
    Column("customer_ref", String(64)),
)

# A document finance will not post because the channel's total cannot be reproduced (an unknown tax
# treatment, a currency without a rate): held for a person, with the reason and the figures.
finance_holds = Table(
    "finance_holds",
    metadata,
    Column("source_key", String(200), primary_key=True),  # the document's cause, e.g. invoice:<order id>:1
    Column("kind", String(16), nullable=False),
    Column("order_id", String(40), index=True),
    Column("return_id", String(40)),
    Column("reason", String(64), nullable=False),
    Column("detail", Text, nullable=False),
    Column("figures", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime),
)

# Each document's export state per accounting connection: pending | exported | refused | dead.
finance_export_states = Table(
    "finance_export_states",
    metadata,
    Column("target", Code, primary_key=True),
    Column("document_id", String(40), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("external_id", String(64)),
    Column("messages", JSON, nullable=False),  # the platform's validation messages when refused
    Column("remote_total", Money),  # the total the platform acknowledged (its Total / Amount)
    Column("attempts", Integer, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(None, "status", "target"),
)

accounting_contacts = Table(
    # The contact (Xero) / customer (QuickBooks) a receivable party is booked to on one accounting connection:
    # ``party`` is ``customer:<id>``, ``account:<wholesale account>`` or ``cash:<channel>``. Created once.
    "accounting_contacts",
    metadata,
    Column("target", Code, primary_key=True),
    Column("party", String(80), primary_key=True),
    Column("external_id", String(64), nullable=False),
    Column("name", String(255), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# -- 3PL (issue 7) ----------------------------------------------------------------------------------------

threepl_variance_reports = Table(
    "threepl_variance_reports",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("channel", Code, nullable=False),
    Column("location", Code, nullable=False),
    Column("inbox_message_id", BigId),  # the 846 / snapshot file it came from
    Column("file_name", String(255)),
    Column("reference", String(100), nullable=False),
    Column("as_of", Date),
    Column("complete", Boolean, nullable=False),
    Column("agreeing", Integer, nullable=False),
    Column("clean", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_threepl_variance_reports_channel_id", "channel", "id"),
)

threepl_variance_lines = Table(
    "threepl_variance_lines",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("report_id", BigId, ForeignKey("threepl_variance_reports.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # variance | not_reported | unmatched
    Column("sku", Code),
    Column("item", String(255), nullable=False),  # how the 3PL named the item
    Column("measure", String(16), nullable=False),  # on_hand | available
    Column("threepl_qty", BigInteger),
    Column("ledger_qty", BigInteger),
    Column("reason", Text),
)

threepl_pick_tickets = Table(
    "threepl_pick_tickets",
    metadata,
    Column("channel", Code, primary_key=True),
    Column("order_id", String(40), primary_key=True),
    Column("control_number", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # pending (claimed, file not yet written) | sent
    Column("file_name", String(255)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    UniqueConstraint("channel", "control_number"),
)

# ---------------------------------------------------------------------------------------- POS tills (0007)
till_batches = Table(
    "till_batches",
    metadata,
    Column("location", Code, primary_key=True),
    Column("till", Code, primary_key=True),
    Column("batch_id", String(128), primary_key=True),
    Column("body_hash", String(64), nullable=False),  # the same batch id with other sales is refused
    Column("answer", JSON),  # the per-sale results, replayed for a repeat
    Column("sales", Integer, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
)

till_catalog_versions = Table(
    "till_catalog_versions",
    metadata,
    Column("price_list", Code, primary_key=True),
    Column("version", BigInteger, nullable=False),  # one row per list: bumping it serialises the publishers
    Column("updated_at", UTCDateTime, nullable=False),
)

till_catalog_items = Table(
    "till_catalog_items",
    metadata,
    Column("price_list", Code, primary_key=True),
    Column("sku", Code, primary_key=True),
    Column("version", BigInteger, nullable=False),  # the list version that last changed this SKU
    Column("digest", String(64), nullable=False),
    Column("data", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(None, "price_list", "version"),
)

till_catalog_acks = Table(
    "till_catalog_acks",
    metadata,
    Column("location", Code, primary_key=True),
    Column("till", Code, primary_key=True),
    Column("version", BigInteger, nullable=False),
    Column("acked_at", UTCDateTime, nullable=False),
)

channel_catalog_refs = Table(
    "channel_catalog_refs",
    metadata,
    Column("channel", Code, primary_key=True),
    Column("style_code", Code, primary_key=True),
    Column("refs", JSON, nullable=False),  # what the platform calls the style and its SKUs, with versions
    Column("style_version", Integer, nullable=False),
    Column("pushed_at", UTCDateTime, nullable=False),
)

pos_count_drifts = Table(
    "pos_count_drifts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("channel", Code, nullable=False),
    Column("sku", Code, nullable=False),
    Column("location", Code, nullable=False),
    Column("theirs", BigInteger, nullable=False),
    Column("ours", BigInteger, nullable=False),
    Column("detected_at", UTCDateTime, nullable=False),
    Column("repushed", Boolean, nullable=False),
    Index(None, "location", "sku"),
)

#: The parts of a till order that are not stock (gift cards sold, custom amounts, service charges, cash
#: rounding), kept beside the stock sale (``order_id``; none when the order sold no goods) with their amounts.
pos_sale_extras = Table(
    "pos_sale_extras",
    metadata,
    Column("channel", Code, primary_key=True),
    Column("external_id", String(200), primary_key=True),
    Column("uid", String(64), primary_key=True),
    Column("order_id", String(40)),
    Column("location", Code, nullable=False),
    Column("kind", String(24), nullable=False),
    Column("name", String(200), nullable=False),
    Column("amount", Money, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Index(None, "location", "occurred_at"),
)

# ---------------------------------------------------------------------- Shopify (issue 5)
#: Which Shopify product carries a style on a channel, and the style version it was last published at.
shopify_products = Table(
    "shopify_products",
    metadata,
    Column("channel", Code, primary_key=True),
    Column("style", Code, primary_key=True),
    Column("product_id", String(32), nullable=False),
    Column("handle", String(255)),
    Column("status", String(16)),
    Column("published_version", Integer),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("channel", "product_id"),
)

#: Our SKU ↔ Shopify variant and inventory item, filled by publish and by ``seamline shopify link``.
shopify_variants = Table(
    "shopify_variants",
    metadata,
    Column("channel", Code, primary_key=True),
    Column("sku", Code, primary_key=True),
    Column("product_id", String(32), nullable=False),
    Column("variant_id", String(32), nullable=False),
    Column("inventory_item_id", String(32), nullable=False),
    Column("linked_by", String(16), nullable=False),  # publish | link_sku | link_gtin
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("channel", "variant_id"),
    Index("ix_shopify_variants_channel_inventory_item_id", "channel", "inventory_item_id"),
)

#: Shopify location ↔ our location, filled by ``seamline shopify link`` (by name or code); the channel's
#: ``settings.location_map`` overrides it.
shopify_locations = Table(
    "shopify_locations",
    metadata,
    Column("channel", Code, primary_key=True),
    Column("location_id", String(32), primary_key=True),
    Column("location", Code, nullable=False),
    Column("name", String(255)),
    Column("updated_at", UTCDateTime, nullable=False),
)

#: Shopify documents already applied (a refund, a fulfilment, a fulfilment we pushed), so a second webhook
#: for the same document (another webhook id) never applies it twice.
shopify_documents = Table(
    "shopify_documents",
    metadata,
    Column("channel", Code, primary_key=True),
    Column("kind", String(16), primary_key=True),  # refund | fulfillment | pushed_fulfillment
    Column("external_id", String(64), primary_key=True),
    Column("document", String(64)),
    Column("recorded_at", UTCDateTime, nullable=False),
)

#: Shopify showing something other than the master or the ledger: recorded, then overwritten with ours.
shopify_drift = Table(
    "shopify_drift",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("channel", Code, nullable=False),
    Column("kind", String(16), nullable=False),  # inventory | product
    Column("sku", Code),
    Column("subject", String(64), nullable=False),  # the Shopify id the drift was seen on
    Column("field", String(32), nullable=False),
    Column("ours", Text),
    Column("theirs", Text),
    Column("source", String(32), nullable=False),  # webhook | push
    Column("recorded_at", UTCDateTime, nullable=False),
    Index("ix_shopify_drift_channel_id", "channel", "id"),
)

accounting_connections = Table(
    "accounting_connections",
    metadata,
    Column("code", Code, primary_key=True),  # the books' name: exports are recorded as <kind>:<code>
    Column("kind", String(32), nullable=False),  # xero | quickbooks
    Column("settings", JSON, nullable=False),  # URL, tenant/realm, token (write-only), mapping extras
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

threepl_ship_notices = Table(
    "threepl_ship_notices",
    metadata,
    Column("channel", Code, primary_key=True),
    Column("transfer_id", String(40), primary_key=True),
    Column("control_number", Integer, nullable=False),
    Column("sscc", String(18), nullable=False),  # the carton's, on its GS1-128 label and in the 856
    Column("status", String(16), nullable=False),  # pending | sent
    Column("file_name", String(255)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    UniqueConstraint("channel", "control_number"),
)

#: X12 997 functional acknowledgements: ``sent`` (ours, for a group the 3PL sent; ``interchange_control_number``
#: is the 997's own) and ``received`` (the 3PL's, for a group we sent: a 940's or 856's control number).
threepl_functional_acks = Table(
    "threepl_functional_acks",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("channel", Code, nullable=False),
    Column("direction", String(8), nullable=False),  # sent | received
    Column("functional_id", String(2), nullable=False),
    Column("group_control_number", String(9), nullable=False),
    Column("status", String(1), nullable=False),  # A | E | P | R
    Column("interchange_control_number", Integer),
    Column("file_name", String(255)),
    Column("detail", JSON, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    UniqueConstraint("channel", "direction", "functional_id", "group_control_number"),
)

# ---------------------------------------------------------------------- many processes (issue 16)
#: One row per periodic job: the process that moves ``next_due_at`` forward runs that period's work, so a
#: job runs once per period however many processes have it, and a dead owner's job is simply claimed by
#: another process next period.
job_periods = Table(
    "job_periods",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("next_due_at", UTCDateTime, nullable=False),
    Column("owner", String(200), nullable=True),
    Column("claimed_at", UTCDateTime, nullable=True),
)

#: What each configured subscriber takes (issue 16): written by the process that wires a channel or an
#: accounting connection (``owner``), before its PUT answers, and read by every process that writes events,
#: so deliveries follow the configuration in the database, not one process's memory.
subscriptions = Table(
    "subscriptions",
    metadata,
    Column("subscriber", String(200), primary_key=True),
    Column("owner", String(200), nullable=False, index=True),
    Column("event_types", JSON, nullable=False),
    Column("channels", JSON, nullable=True),  # null: every channel
    Column("coalesced", Boolean, nullable=False),  # the Subscriber's ``coalesce``
    Column("updated_at", UTCDateTime, nullable=False),
)

#: Token buckets every process of an installation draws from (a platform's rate limit is per account, not
#: per process). Times are seconds since the epoch, as the buckets' arithmetic takes them.
rate_buckets = Table(
    "rate_buckets",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("rate", Numeric(asdecimal=False), nullable=False),
    Column("capacity", Numeric(asdecimal=False), nullable=False),
    Column("tokens", Numeric(asdecimal=False), nullable=False),
    Column("stamp", Numeric(asdecimal=False), nullable=False),
    Column("blocked_until", Numeric(asdecimal=False), nullable=False),
)

#: Gift cards (issue 17): one liability across channels. ``balance`` is the sum of the card's movements,
#: kept on the row so a redemption is one conditional update (``balance >= amount``) that two tills cannot
#: both win; the CHECK makes a negative balance impossible whatever the code does.
gift_cards = Table(
    "gift_cards",
    metadata,
    Column("code", Code, primary_key=True),
    Column("currency", String(3), nullable=False),
    Column("initial_amount", Money, nullable=False),
    Column("balance", Money, nullable=False),
    Column("status", String(16), nullable=False),  # active | redeemed | expired
    Column("channel", Code),  # where it was issued (none: the API without a channel)
    Column("source", String(200), nullable=False, unique=True),  # what issued it: order:<id>:<line>, api:<key>...
    Column("external_ref", String(200), unique=True),  # the channel's own id of the card (Shopify's gift card id)
    Column("external_last_characters", String(16)),  # what the channel shows of its card's code (its last four)
    Column("issued_at", UTCDateTime, nullable=False),
    Column("expires_on", Date),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("balance >= 0", name="balance_not_negative"),
    Index(None, "status", "expires_on"),
)

#: Every change of a card's balance, immutable; ``source`` makes a cause take effect once (a sale's tender, a
#: channel order's payment, an expiry).
gift_card_movements = Table(
    "gift_card_movements",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("id", String(40), nullable=False, unique=True),
    Column("code", Code, ForeignKey("gift_cards.code"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # issue | redeem | refund_to_card | expire
    Column("amount", Money, nullable=False),  # positive; the kind gives the sign
    Column("balance_after", Money, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("channel", Code),
    Column("source", String(200), nullable=False, unique=True),
    Column("order_id", String(40), index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("trace_id", String(64)),
    CheckConstraint("amount > 0", name="amount_positive"),
)

#: A marketplace payout imported (finance.payouts): once per (channel, the marketplace's id of it); its journal
#: document books the deposit, the fees and what it settled of each order.
marketplace_payouts = Table(
    "marketplace_payouts",
    metadata,
    Column("channel", Code, primary_key=True),
    Column("payout_id", String(64), primary_key=True),  # Amazon's settlement-id, Mirakl's payment voucher
    Column("source", String(16), nullable=False),  # amazon | mirakl
    Column("currency", String(3), nullable=False),
    Column("total", Money, nullable=False),
    Column("start_date", Date),
    Column("end_date", Date),
    Column("deposit_date", Date),
    Column("document_id", String(40)),
    Column("body", JSON, nullable=False),
    Column("imported_at", UTCDateTime, nullable=False),
)

#: Each amount of a payout; the order money (``sale``/``refund``) is matched against the order's documents.
marketplace_payout_lines = Table(
    "marketplace_payout_lines",
    metadata,
    Column("channel", Code, primary_key=True),
    Column("payout_id", String(64), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),  # sale | refund | fee | tax_withheld | reserve
    Column("category", String(200), nullable=False),
    Column("amount", Money, nullable=False),
    Column("order_ref", String(64)),
    Column("posted", Date),
    Column("sku", Code),
    Index(None, "channel", "order_ref"),
)
