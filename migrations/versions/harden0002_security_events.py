"""security events: what webapp.security.log_event logs, kept for the admins' page

Revision ID: harden0002
Revises: cw0001site
Create Date: 2026-12-07 16:30:00

"""

import sqlalchemy as sa
from alembic import op

import webapp.models_base

revision = "harden0002"
down_revision = "cw0001site"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "security_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", webapp.models_base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("event", sa.String(length=100), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("email", sa.String(length=200), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("route", sa.String(length=200), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_events")),
    )
    op.create_index(
        op.f("ix_security_events_event"), "security_events", ["event"], unique=False
    )
    op.create_index(
        "ix_security_events_user_id_id", "security_events", ["user_id", "id"], unique=False
    )


def downgrade():
    op.drop_index("ix_security_events_user_id_id", table_name="security_events")
    op.drop_index(op.f("ix_security_events_event"), table_name="security_events")
    op.drop_table("security_events")
