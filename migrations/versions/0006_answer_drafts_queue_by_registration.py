"""answer drafts kept on the server; the queue by registration time on keyset indexes

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 12:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

MERGED = "merged_into_id IS NULL"


def upgrade() -> None:
    op.create_table(
        "appeal_answer_draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("saved_by", sa.Integer(), nullable=True),
        sa.Column("saved_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appeal_id"], ["appeal.id"], name=op.f("fk_appeal_answer_draft_appeal_id_appeal"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["saved_by"], ["user_account.id"], name=op.f("fk_appeal_answer_draft_saved_by_user_account"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeal_answer_draft")),
        sa.UniqueConstraint("appeal_id", name=op.f("uq_appeal_answer_draft_appeal_id")),
    )
    with op.batch_alter_table("appeal", schema=None) as batch_op:
        # Open311's index gains the id, so the queue's keyset by registration can use it too.
        batch_op.drop_index("ix_appeal_town_kind_registered")
        batch_op.create_index("ix_appeal_town_kind_registered", ["municipality_id", "kind", "registered_at", "id"], unique=False)
        batch_op.create_index("ix_appeal_town_registered", ["municipality_id", "registered_at", "id"], unique=False)
        batch_op.create_index(
            "ix_appeal_town_category_registered", ["municipality_id", "category_id", "registered_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_appeal_town_assignee_registered", ["municipality_id", "assignee_id", "registered_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_appeal_queue_registered", ["municipality_id", "status", "registered_at", "id"], unique=False,
            sqlite_where=sa.text(MERGED), postgresql_where=sa.text(MERGED),
        )


def downgrade() -> None:
    with op.batch_alter_table("appeal", schema=None) as batch_op:
        batch_op.drop_index("ix_appeal_queue_registered")
        batch_op.drop_index("ix_appeal_town_assignee_registered")
        batch_op.drop_index("ix_appeal_town_category_registered")
        batch_op.drop_index("ix_appeal_town_registered")
        batch_op.drop_index("ix_appeal_town_kind_registered")
        batch_op.create_index("ix_appeal_town_kind_registered", ["municipality_id", "kind", "registered_at"], unique=False)
    op.drop_table("appeal_answer_draft")
