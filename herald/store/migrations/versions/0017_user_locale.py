"""users: the language a person reads Herald in (issue 18), chosen on their account page; none
means "as the browser asks" (Accept-Language), else English

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 12:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('locale')
