"""departments' names in the genitive and instrumental cases, for answer letters

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-08 12:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("department", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_genitive", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("name_instrumental", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("department", schema=None) as batch_op:
        batch_op.drop_column("name_instrumental")
        batch_op.drop_column("name_genitive")
