"""finance: documents, the journal, store-day settlements, processor transactions, accounting exports (issue 6)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 17:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from seamline.store.types import UTCDateTime

revision = "0005"
# 0004 (marketplaces) landed beside this work; finance takes the next free number.
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "finance_config",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finance_config")),
    )
    op.create_table(
        "finance_documents",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("number", sa.String(length=21), nullable=True),
        sa.Column("source_key", sa.String(length=200), nullable=False),
        sa.Column("posting", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("tax_total", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("store", sa.String(length=64), nullable=True),
        sa.Column("order_id", sa.String(length=40), nullable=True),
        sa.Column("return_id", sa.String(length=40), nullable=True),
        sa.Column("applies_to", sa.String(length=40), nullable=True),
        sa.Column("settlement_id", sa.String(length=40), nullable=True),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("trace_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_finance_documents")),
        sa.UniqueConstraint("id", name=op.f("uq_finance_documents_id")),
        sa.UniqueConstraint("number", name=op.f("uq_finance_documents_number")),
        sa.UniqueConstraint("source_key", name=op.f("uq_finance_documents_source_key")),
    )
    with op.batch_alter_table("finance_documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_finance_documents_kind_seq"), ["kind", "seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_finance_documents_order_id"), ["order_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_finance_documents_posting_store_settlement_id_issued_on"),
            ["posting", "store", "settlement_id", "issued_on"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_finance_documents_return_id"), ["return_id"], unique=False)

    op.create_table(
        "finance_exports",
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("document_id", sa.String(length=40), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("external_number", sa.String(length=64), nullable=True),
        sa.Column("exported_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("target", "document_id", name=op.f("pk_finance_exports")),
    )
    op.create_table(
        "journal_entries",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("source_key", sa.String(length=200), nullable=False),
        sa.Column("entry_date", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("memo", sa.Text(), nullable=False),
        sa.Column("total", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("document_id", sa.String(length=40), nullable=True),
        sa.Column("settlement_id", sa.String(length=40), nullable=True),
        sa.Column("store", sa.String(length=64), nullable=True),
        sa.Column("tender", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("trace_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_journal_entries")),
        sa.UniqueConstraint("id", name=op.f("uq_journal_entries_id")),
        sa.UniqueConstraint("source_key", name=op.f("uq_journal_entries_source_key")),
    )
    with op.batch_alter_table("journal_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_journal_entries_document_id"), ["document_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_journal_entries_entry_date_seq"), ["entry_date", "seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_journal_entries_settlement_id"), ["settlement_id"], unique=False)

    op.create_table(
        "journal_lines",
        sa.Column("entry_id", sa.String(length=40), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=32), nullable=False),
        sa.Column("debit", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("credit", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("memo", sa.Text(), nullable=False),
        sa.Column("tax_code", sa.String(length=32), nullable=True),
        sa.Column("tender", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "debit >= 0 AND credit >= 0 AND (debit = 0 OR credit = 0)", name=op.f("ck_journal_lines_one_sided")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["journal_entries.id"], name=op.f("fk_journal_lines_entry_id_journal_entries")
        ),
        sa.PrimaryKeyConstraint("entry_id", "line_no", name=op.f("pk_journal_lines")),
    )
    with op.batch_alter_table("journal_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_journal_lines_account"), ["account"], unique=False)

    op.create_table(
        "settlements",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("store", sa.String(length=64), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("figures", sa.JSON(), nullable=True),
        sa.Column("trace_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["store"], ["locations.code"], name=op.f("fk_settlements_store_locations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlements")),
        sa.UniqueConstraint("store", "business_date", name=op.f("uq_settlements_store_business_date")),
    )
    op.create_table(
        "processor_transactions",
        sa.Column("processor", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("settlement_id", sa.String(length=40), nullable=False),
        sa.Column("tender", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("fee", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("net", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.Column("imported_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["settlement_id"], ["settlements.id"], name=op.f("fk_processor_transactions_settlement_id_settlements")
        ),
        sa.PrimaryKeyConstraint("processor", "external_id", name=op.f("pk_processor_transactions")),
    )
    with op.batch_alter_table("processor_transactions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_processor_transactions_settlement_id"), ["settlement_id"], unique=False)

    op.create_table(
        "settlement_cash_movements",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("settlement_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("tender", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("account", sa.String(length=32), nullable=True),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_settlement_cash_movements_amount_positive")),
        sa.ForeignKeyConstraint(
            ["settlement_id"], ["settlements.id"], name=op.f("fk_settlement_cash_movements_settlement_id_settlements")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_cash_movements")),
    )
    with op.batch_alter_table("settlement_cash_movements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_settlement_cash_movements_settlement_id"), ["settlement_id"], unique=False)

    op.create_table(
        "settlement_counts",
        sa.Column("settlement_id", sa.String(length=40), nullable=False),
        sa.Column("tender", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("counted", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("cash_float", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("counted_at", UTCDateTime(), nullable=False),
        sa.Column("counted_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["settlement_id"], ["settlements.id"], name=op.f("fk_settlement_counts_settlement_id_settlements")
        ),
        sa.PrimaryKeyConstraint("settlement_id", "tender", "currency", name=op.f("pk_settlement_counts")),
    )


def downgrade() -> None:
    op.drop_table("settlement_counts")
    with op.batch_alter_table("settlement_cash_movements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_settlement_cash_movements_settlement_id"))

    op.drop_table("settlement_cash_movements")
    with op.batch_alter_table("processor_transactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_processor_transactions_settlement_id"))

    op.drop_table("processor_transactions")
    op.drop_table("settlements")
    with op.batch_alter_table("journal_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_journal_lines_account"))

    op.drop_table("journal_lines")
    with op.batch_alter_table("journal_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_journal_entries_settlement_id"))
        batch_op.drop_index(batch_op.f("ix_journal_entries_entry_date_seq"))
        batch_op.drop_index(batch_op.f("ix_journal_entries_document_id"))

    op.drop_table("journal_entries")
    op.drop_table("finance_exports")
    with op.batch_alter_table("finance_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_finance_documents_return_id"))
        batch_op.drop_index(batch_op.f("ix_finance_documents_posting_store_settlement_id_issued_on"))
        batch_op.drop_index(batch_op.f("ix_finance_documents_order_id"))
        batch_op.drop_index(batch_op.f("ix_finance_documents_kind_seq"))

    op.drop_table("finance_documents")
    op.drop_table("finance_config")
