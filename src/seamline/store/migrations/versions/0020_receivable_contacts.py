"""accounts receivable per customer and per wholesale account (issue 17): the contact (Xero) or customer
(QuickBooks) each receivable party is booked to, per accounting connection, created once; a wholesale
account's payment terms

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 22:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from seamline.store.types import UTCDateTime

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounting_contacts",
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("party", sa.String(length=80), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("target", "party", name=op.f("pk_accounting_contacts")),
    )
    with op.batch_alter_table("wholesale_accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payment_terms_days", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("wholesale_accounts", schema=None) as batch_op:
        batch_op.drop_column("payment_terms_days")
    op.drop_table("accounting_contacts")
