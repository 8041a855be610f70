"""gift cards as one liability across channels (issue 17): the cards and their immutable movements

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 22:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from seamline.store.types import UTCDateTime

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(precision=14, scale=4)


def upgrade() -> None:
    op.create_table(
        "gift_cards",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("initial_amount", MONEY, nullable=False),
        sa.Column("balance", MONEY, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("external_ref", sa.String(length=200), nullable=True),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("balance >= 0", name=op.f("ck_gift_cards_balance_not_negative")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_gift_cards")),
        sa.UniqueConstraint("source", name=op.f("uq_gift_cards_source")),
        sa.UniqueConstraint("external_ref", name=op.f("uq_gift_cards_external_ref")),
    )
    with op.batch_alter_table("gift_cards", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gift_cards_status_expires_on"), ["status", "expires_on"])
    op.create_table(
        "gift_card_movements",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("balance_after", MONEY, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("trace_id", sa.String(length=64), nullable=True),
        sa.CheckConstraint("amount > 0", name=op.f("ck_gift_card_movements_amount_positive")),
        sa.ForeignKeyConstraint(["code"], ["gift_cards.code"], name=op.f("fk_gift_card_movements_code_gift_cards")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_gift_card_movements")),
        sa.UniqueConstraint("id", name=op.f("uq_gift_card_movements_id")),
        sa.UniqueConstraint("source", name=op.f("uq_gift_card_movements_source")),
    )
    with op.batch_alter_table("gift_card_movements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gift_card_movements_code"), ["code"])
        batch_op.create_index(batch_op.f("ix_gift_card_movements_order_id"), ["order_id"])


def downgrade() -> None:
    op.drop_table("gift_card_movements")
    op.drop_table("gift_cards")
