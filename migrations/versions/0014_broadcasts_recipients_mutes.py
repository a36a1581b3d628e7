"""broadcasts: the broadcast, one row per recipient (the delivery's durable state), residents' mutes

Revision ID: 0014
Revises: 0015
Create Date: 2026-12-01 23:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.db

revision = '0014'
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('broadcast_mute',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('created_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'], name=op.f('fk_broadcast_mute_municipality_id_municipality'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_broadcast_mute_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_broadcast_mute')),
    sa.UniqueConstraint('user_id', 'municipality_id', 'category', name=op.f('uq_broadcast_mute_user_id_municipality_id_category'))
    )
    with op.batch_alter_table('broadcast_mute', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_broadcast_mute_municipality_id'), ['municipality_id'], unique=False)

    op.create_table('broadcast',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('photo_id', sa.Integer(), nullable=True),
    sa.Column('buttons', sa.JSON(), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('segment', sa.JSON(), nullable=False),
    sa.Column('paid', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('scheduled_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('started_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('updated_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['user_account.id'], name=op.f('fk_broadcast_author_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'], name=op.f('fk_broadcast_municipality_id_municipality'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['photo_id'], ['stored_file.id'], name=op.f('fk_broadcast_photo_id_stored_file'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_broadcast'))
    )
    with op.batch_alter_table('broadcast', schema=None) as batch_op:
        batch_op.create_index('ix_broadcast_status', ['status', 'scheduled_at'], unique=False)
        batch_op.create_index('ix_broadcast_town', ['municipality_id', 'id'], unique=False)

    op.create_table('broadcast_recipient',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('broadcast_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.SmallInteger(), nullable=False),
    sa.Column('next_attempt_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=48), nullable=True),
    sa.Column('lease_until', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('message_id', sa.BigInteger(), nullable=True),
    sa.Column('error', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['broadcast_id'], ['broadcast.id'], name=op.f('fk_broadcast_recipient_broadcast_id_broadcast'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_broadcast_recipient_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_broadcast_recipient')),
    sa.UniqueConstraint('broadcast_id', 'user_id', name=op.f('uq_broadcast_recipient_broadcast_id_user_id'))
    )
    with op.batch_alter_table('broadcast_recipient', schema=None) as batch_op:
        batch_op.create_index('ix_broadcast_recipient_due', ['broadcast_id', 'state', 'id'], unique=False)
        batch_op.create_index('ix_broadcast_recipient_lease', ['state', 'lease_until'], unique=False)
        batch_op.create_index('ix_broadcast_recipient_user', ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('broadcast_recipient', schema=None) as batch_op:
        batch_op.drop_index('ix_broadcast_recipient_user')
        batch_op.drop_index('ix_broadcast_recipient_lease')
        batch_op.drop_index('ix_broadcast_recipient_due')

    op.drop_table('broadcast_recipient')
    with op.batch_alter_table('broadcast', schema=None) as batch_op:
        batch_op.drop_index('ix_broadcast_town')
        batch_op.drop_index('ix_broadcast_status')

    op.drop_table('broadcast')
    with op.batch_alter_table('broadcast_mute', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_broadcast_mute_municipality_id'))

    op.drop_table('broadcast_mute')
