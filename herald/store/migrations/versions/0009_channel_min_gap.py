"""posting slots: a channel's minimum gap between posts, and its deliveries by due time

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 08:45:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('channels', schema=None) as batch_op:
        batch_op.add_column(sa.Column('min_gap_seconds', sa.Integer(), nullable=False, server_default='0'))
    op.create_index('ix_deliveries_channel_due', 'deliveries', ['channel_id', 'due_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_deliveries_channel_due', table_name='deliveries')
    with op.batch_alter_table('channels', schema=None) as batch_op:
        batch_op.drop_column('min_gap_seconds')
