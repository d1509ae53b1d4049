"""alerts: targets (sealed apprise URLs), queued alerts, sends per target; channels' token expiry

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 12:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.add_column(sa.Column("token_expires_at", sa.DateTime(), nullable=True))
    op.create_table(
        "alert_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("url_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("shown", sa.String(length=300), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alert_targets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_targets_campaign_id"), ["campaign_id"], unique=False)
    op.create_table(
        "alert_messages",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("dedup_key", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alert_messages", schema=None) as batch_op:
        batch_op.create_index("ix_alert_messages_status", ["status", "id"], unique=False)
        batch_op.create_index("ix_alert_messages_dedup", ["dedup_key", "created_at"], unique=False)
    op.create_table(
        "alert_sends",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("message_id", _BIG_ID, nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["target_id"], ["alert_targets.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["message_id"], ["alert_messages.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alert_sends", schema=None) as batch_op:
        batch_op.create_index("ix_alert_sends_target_at", ["target_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alert_sends", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_sends_target_at")
    op.drop_table("alert_sends")
    with op.batch_alter_table("alert_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_messages_dedup")
        batch_op.drop_index("ix_alert_messages_status")
    op.drop_table("alert_messages")
    with op.batch_alter_table("alert_targets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_targets_campaign_id"))
    op.drop_table("alert_targets")
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.drop_column("token_expires_at")
