"""integrations core: the job outbox, inbound webhook events, notices that close themselves

Revision ID: i11a0core001
Revises: i11e0void001
Create Date: 2026-12-07 03:30:00

"""

import warnings

import sqlalchemy as sa
from alembic import op

from webapp.models_base import UTCDateTime

revision = "i11a0core001"
down_revision = "i11e0void001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "queued_jobs",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("func", sa.String(200), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("queue", sa.String(50), nullable=False),
        sa.Column("job_id", sa.String(200), nullable=False),
        sa.Column("retry_max", sa.Integer(), nullable=False),
        sa.Column("retry_intervals", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queued_jobs")),
    )
    op.create_index(op.f("ix_queued_jobs_created_at"), "queued_jobs", ["created_at"])
    op.create_table(
        "inbound_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(40), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "received",
                "processed",
                "failed",
                name="inbound_event_status",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("received_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("processed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_events")),
        sa.UniqueConstraint(
            "provider", "body_sha256", name=op.f("uq_inbound_events_provider_body_sha256")
        ),
    )


    # ADD COLUMN works on SQLite as it is (no table copy needed).
    op.add_column(
        "accounting_notifications",
        sa.Column("cause", sa.String(50), nullable=False, server_default=""),
    )


def downgrade():
    # SQLite copies the table; reflecting its foreign keys warns about an expression index of
    # another table (organizations), which the copy does not touch.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sa.exc.SAWarning)
        with op.batch_alter_table("accounting_notifications") as batch:
            batch.drop_column("cause")
    op.drop_table("inbound_events")
    op.drop_index(op.f("ix_queued_jobs_created_at"), table_name="queued_jobs")
    op.drop_table("queued_jobs")
