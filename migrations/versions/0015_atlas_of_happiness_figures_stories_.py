"""atlas of happiness: figures, stories, places

Revision ID: 0015
Revises: 0016
Create Date: 2026-12-01 23:40:38
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.db


revision = '0015'
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('atlas_figure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('factor', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('unit', sa.String(length=40), nullable=False),
    sa.Column('source', sa.String(length=300), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('sort', sa.Integer(), nullable=False),
    sa.Column('updated_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'], name=op.f('fk_atlas_figure_municipality_id_municipality'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_atlas_figure'))
    )
    with op.batch_alter_table('atlas_figure', schema=None) as batch_op:
        batch_op.create_index('ix_atlas_figure_town', ['municipality_id', 'factor', 'sort', 'id'], unique=False)

    op.create_table('atlas_place',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.String(length=1000), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('link', sa.String(length=300), nullable=True),
    sa.Column('sort', sa.Integer(), nullable=False),
    sa.Column('created_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'], name=op.f('fk_atlas_place_municipality_id_municipality'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_atlas_place'))
    )
    with op.batch_alter_table('atlas_place', schema=None) as batch_op:
        batch_op.create_index('ix_atlas_place_town', ['municipality_id', 'kind', 'sort', 'id'], unique=False)

    op.create_table('atlas_story',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('signature', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('moderated_by', sa.Integer(), nullable=True),
    sa.Column('moderated_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reject_reason', sa.String(length=500), nullable=True),
    sa.Column('created_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['user_account.id'], name=op.f('fk_atlas_story_author_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['moderated_by'], ['user_account.id'], name=op.f('fk_atlas_story_moderated_by_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'], name=op.f('fk_atlas_story_municipality_id_municipality'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_atlas_story'))
    )
    with op.batch_alter_table('atlas_story', schema=None) as batch_op:
        batch_op.create_index('ix_atlas_story_author', ['author_id'], unique=False)
        batch_op.create_index('ix_atlas_story_town', ['municipality_id', 'status', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('atlas_story', schema=None) as batch_op:
        batch_op.drop_index('ix_atlas_story_town')
        batch_op.drop_index('ix_atlas_story_author')

    op.drop_table('atlas_story')
    with op.batch_alter_table('atlas_place', schema=None) as batch_op:
        batch_op.drop_index('ix_atlas_place_town')

    op.drop_table('atlas_place')
    with op.batch_alter_table('atlas_figure', schema=None) as batch_op:
        batch_op.drop_index('ix_atlas_figure_town')

    op.drop_table('atlas_figure')
