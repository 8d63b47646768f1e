"""auth: remember-me per device, replaced at each use and bounded from sign-in

Revision ID: sec13remember1
Revises: sec13reset001
Create Date: 2026-12-07 09:40:00

"""

import sqlalchemy as sa
from alembic import op

from webapp.models_base import UTCDateTime

revision = "sec13remember1"
down_revision = "sec13reset001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "remembered_devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("series", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("previous_digest", sa.String(length=64), nullable=False),
        sa.Column("replaced_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_remembered_devices_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remembered_devices")),
        sa.UniqueConstraint("series", name=op.f("uq_remembered_devices_series")),
    )
    op.create_index(
        op.f("ix_remembered_devices_user_id"), "remembered_devices", ["user_id"], unique=False
    )


def downgrade():
    op.drop_index(op.f("ix_remembered_devices_user_id"), table_name="remembered_devices")
    op.drop_table("remembered_devices")
