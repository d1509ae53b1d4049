"""campaign controls: date range, blackout windows, hashtags and UTM

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 10:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('starts_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('ends_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('hashtags', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('utm', sa.Boolean(), server_default='0', nullable=False))
    op.create_table(
        'campaign_blackouts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('starts_at', sa.DateTime(), nullable=False),
        sa.Column('ends_at', sa.DateTime(), nullable=False),
        sa.Column('mode', sa.String(length=8), nullable=False),
        sa.Column('label', sa.String(length=200), nullable=False),
        sa.Column('created_by', sa.String(length=320), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('campaign_blackouts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_blackouts_campaign_id'), ['campaign_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('campaign_blackouts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_blackouts_campaign_id'))
    op.drop_table('campaign_blackouts')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('utm')
        batch_op.drop_column('hashtags')
        batch_op.drop_column('ends_at')
        batch_op.drop_column('starts_at')
