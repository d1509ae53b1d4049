"""post_variants: the language of a channel's own text (issue 18), when it is not the post's:
one post may go out in Korean on one channel and in English on another; none means "the
post's language"

Plain ``ADD COLUMN`` and ``DROP COLUMN`` (SQLite 3.35 and later take both), never a batch
that recreates ``post_variants``: that would drop its search triggers (migration 0016).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 10:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('post_variants', sa.Column('language', sa.String(length=16), nullable=True))


def downgrade() -> None:
    op.drop_column('post_variants', 'language')
