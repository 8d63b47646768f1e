"""ledger connections: stored chart of accounts and tax rates (the admin page reads no vendor)

Revision ID: i11f0lists001
Revises: i11a0core001
Create Date: 2026-12-07 06:00:00

"""

import warnings

import sqlalchemy as sa
from alembic import op

from webapp.models_base import UTCDateTime

revision = "i11f0lists001"
down_revision = "i11a0core001"
branch_labels = None
depends_on = None

COLUMNS = ("ledger_lists", "lists_read_at", "lists_requested_at", "lists_error")


def upgrade():
    # ADD COLUMN works on SQLite as it is (no table copy needed). Existing connections start
    # with no stored lists; the first refresh job (on the next connect, the daily refresh or
    # the "Refresh lists" button) fills them.
    op.add_column(
        "ledger_connections",
        sa.Column("ledger_lists", sa.JSON(), nullable=False, server_default="{}"),
    )
    op.add_column("ledger_connections", sa.Column("lists_read_at", UTCDateTime(timezone=True), nullable=True))
    op.add_column(
        "ledger_connections", sa.Column("lists_requested_at", UTCDateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "ledger_connections",
        sa.Column("lists_error", sa.Text(), nullable=False, server_default=""),
    )


def downgrade():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sa.exc.SAWarning)
        with op.batch_alter_table("ledger_connections") as batch:
            for name in COLUMNS:
                batch.drop_column(name)
