"""threads and first comments: a delivery's parts, each published once, in order

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 10:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'delivery_parts',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('delivery_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('remote_id', sa.String(length=200), nullable=True),
        sa.Column('remote_url', sa.String(length=1000), nullable=True),
        sa.Column('remote_cid', sa.String(length=200), nullable=True),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.Column('published_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('delivery_id', 'position'),
    )
    with op.batch_alter_table('delivery_parts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_parts_delivery_id'), ['delivery_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('delivery_parts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_parts_delivery_id'))
    op.drop_table('delivery_parts')
