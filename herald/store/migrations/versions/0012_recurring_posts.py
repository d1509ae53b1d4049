"""recurring posts: a post's series (RFC 5545 RRULE) and its occurrence

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 10:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # posts.recurrence (the rule's text) exists since 0001; each occurrence is its own post.
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("series_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("occurrence", sa.Integer(), nullable=True))
        batch_op.create_index("ix_posts_series_id", ["series_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_index("ix_posts_series_id")
        batch_op.drop_column("occurrence")
        batch_op.drop_column("series_id")
