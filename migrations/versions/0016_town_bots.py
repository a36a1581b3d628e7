"""a town's own bot: its id, username and encrypted token

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-02 00:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.db


revision = '0016'
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('town_bot',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('token_encrypted', sa.Text(), nullable=False),
    sa.Column('token_hint', sa.String(length=40), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('connected_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('connected_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['connected_by'], ['user_account.id'], name=op.f('fk_town_bot_connected_by_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'], name=op.f('fk_town_bot_municipality_id_municipality'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_town_bot')),
    sa.UniqueConstraint('municipality_id', name=op.f('uq_town_bot_municipality_id'))
    )


def downgrade() -> None:
    op.drop_table('town_bot')
