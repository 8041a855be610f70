"""a style's content: description, images, care, composition, per-channel words

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 20:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("styles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("styles", schema=None) as batch_op:
        batch_op.drop_column("content")
