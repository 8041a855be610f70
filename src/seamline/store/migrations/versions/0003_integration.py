"""integration: inbox, outbox, deliveries, computed and published availability (DESIGN 8)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 16:11:23.200009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from seamline.store.types import UTCDateTime

revision = "0003"
# Chained after the orders migration (0002); while it is not in the tree this points at 0001.
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_availability",
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("atp", sa.Integer(), nullable=True),
        sa.Column("paused", sa.Boolean(), nullable=True),
        sa.Column("event_id", sa.String(length=40), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("channel", "sku", name=op.f("pk_channel_availability")),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("subscriber", sa.String(length=64), nullable=False),
        sa.Column("coalesce_key", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("replays", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
        sa.Column("locked_by", sa.String(length=64), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.Column("dead_at", UTCDateTime(), nullable=True),
        sa.Column("trace_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("subscriber", "event_id", name=op.f("uq_deliveries_subscriber_event_id")),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deliveries_event_seq"), ["event_seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_deliveries_status_created_at"), ["status", "created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_deliveries_subscriber_coalesce_key_status"),
            ["subscriber", "coalesce_key", "status"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_deliveries_subscriber_status_next_attempt_at"),
            ["subscriber", "status", "next_attempt_at"],
            unique=False,
        )

    op.create_table(
        "delivery_failures",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.BigInteger(), nullable=False),
        sa.Column("subscriber", sa.String(length=64), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("failed_at", UTCDateTime(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_failures")),
    )
    with op.batch_alter_table("delivery_failures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delivery_failures_delivery_id"), ["delivery_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_delivery_failures_subscriber_failed_at"), ["subscriber", "failed_at"], unique=False
        )

    op.create_table(
        "inbox_aggregates",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("aggregate_key", sa.String(length=200), nullable=False),
        sa.Column("applied_version", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("applied_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("source", "aggregate_key", name=op.f("pk_inbox_aggregates")),
    )
    op.create_table(
        "inbox_messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("message_type", sa.String(length=100), nullable=False),
        sa.Column("aggregate_key", sa.String(length=200), nullable=True),
        sa.Column("aggregate_version", sa.BigInteger(), nullable=True),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("processed_at", UTCDateTime(), nullable=True),
        sa.Column("trace_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_messages")),
        sa.UniqueConstraint("source", "external_id", name=op.f("uq_inbox_messages_source_external_id")),
    )
    with op.batch_alter_table("inbox_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inbox_messages_source_aggregate_key_id"), ["source", "aggregate_key", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_inbox_messages_status_next_attempt_at"), ["status", "next_attempt_at"], unique=False
        )

    op.create_table(
        "outbox_events",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column("coalesce_key", sa.String(length=200), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("trace_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("relayed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_outbox_events")),
        sa.UniqueConstraint("id", name=op.f("uq_outbox_events_id")),
    )
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_events_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_events_relayed_at_seq"), ["relayed_at", "seq"], unique=False)

    op.create_table(
        "published_availability",
        sa.Column("subscriber", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("available", sa.Integer(), nullable=False),
        sa.Column("atp", sa.Integer(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("subscriber", "channel", "sku", name=op.f("pk_published_availability")),
    )


def downgrade() -> None:
    op.drop_table("published_availability")
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_events_relayed_at_seq"))
        batch_op.drop_index(batch_op.f("ix_outbox_events_created_at"))

    op.drop_table("outbox_events")
    with op.batch_alter_table("inbox_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbox_messages_status_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_inbox_messages_source_aggregate_key_id"))

    op.drop_table("inbox_messages")
    op.drop_table("inbox_aggregates")
    with op.batch_alter_table("delivery_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_failures_subscriber_failed_at"))
        batch_op.drop_index(batch_op.f("ix_delivery_failures_delivery_id"))

    op.drop_table("delivery_failures")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deliveries_subscriber_status_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_deliveries_subscriber_coalesce_key_status"))
        batch_op.drop_index(batch_op.f("ix_deliveries_status_created_at"))
        batch_op.drop_index(batch_op.f("ix_deliveries_event_seq"))

    op.drop_table("deliveries")
    op.drop_table("channel_availability")
