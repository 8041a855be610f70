"""balances and the quantities derived from them are BIGINT: a balance is a sum of movements of up to
1,000,000,000 units each, and PostgreSQL's integer stops at 2,147,483,647

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 17:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# (table, column, nullable): every column that holds a balance, a sum of balances (ATP) or a difference of them
# (a count's adjustment movement, a till's or a 3PL's count against ours).
WIDENED = (
    ("movements", "qty", False),
    ("balances", "on_hand", False),
    ("balances", "committed", False),
    ("balances", "reserved", False),
    ("channel_availability", "atp", True),
    ("published_availability", "available", False),
    ("published_availability", "atp", False),
    ("count_lines", "expected", True),
    ("count_lines", "on_hand_at_entry", True),
    ("count_lines", "counted", True),
    ("marketplace_listings", "desired_qty", True),
    ("marketplace_listings", "published_qty", True),
    ("listing_pauses", "atp", False),
    ("threepl_variance_lines", "threepl_qty", True),
    ("threepl_variance_lines", "ledger_qty", True),
    ("pos_count_drifts", "theirs", False),
    ("pos_count_drifts", "ours", False),
)


def _alter(old: type[sa.types.TypeEngine[int]], new: type[sa.types.TypeEngine[int]]) -> None:
    tables: dict[str, list[tuple[str, bool]]] = {}
    for table, column, nullable in WIDENED:
        tables.setdefault(table, []).append((column, nullable))
    for table, columns in tables.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, nullable in columns:
                batch_op.alter_column(column, existing_type=old(), type_=new(), existing_nullable=nullable)


def upgrade() -> None:
    _alter(sa.Integer, sa.BigInteger)


def downgrade() -> None:
    _alter(sa.BigInteger, sa.Integer)
