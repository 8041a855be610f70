"""gift cards (issue 17): the last characters of the channel's own card, stored with its id when linked

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-08 02:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("gift_cards", sa.Column("external_last_characters", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("gift_cards") as batch:
        batch.drop_column("external_last_characters")
