"""ledger connections: what cancelling a document does to its Xero invoice (void / credit note)

Revision ID: i11e0void001
Revises: i12c0a1b2c3d4
Create Date: 2026-12-07 03:00:00

"""

import warnings

import sqlalchemy as sa
from alembic import op

revision = "i11e0void001"
down_revision = "i12c0a1b2c3d4"
branch_labels = None
depends_on = None


def upgrade():
    # ADD COLUMN works on SQLite as it is (no table copy needed).
    op.add_column(
        "ledger_connections",
        sa.Column("cancel_action", sa.String(32), nullable=False, server_default="void"),
    )


def downgrade():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sa.exc.SAWarning)
        with op.batch_alter_table("ledger_connections") as batch:
            batch.drop_column("cancel_action")
