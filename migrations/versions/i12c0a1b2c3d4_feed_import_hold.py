"""feed imports: an override for held full feeds, and the feed file kept in the database

Revision ID: i12c0a1b2c3d4
Revises: i11b0a1b2c3d
Create Date: 2026-12-06 13:45:00

"""

import warnings

import sqlalchemy as sa
from alembic import op

revision = "i12c0a1b2c3d4"
down_revision = "i11b0a1b2c3d"
branch_labels = None
depends_on = None


def upgrade():
    # ADD COLUMN works on SQLite as it is (no table copy needed).
    op.add_column(
        "feed_imports",
        sa.Column("override_limits", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("feed_imports", sa.Column("content", sa.LargeBinary(), nullable=True))


def downgrade():
    # SQLite copies the table; reflecting its foreign keys warns about an expression index of
    # another table (organizations), which the copy does not touch.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sa.exc.SAWarning)
        with op.batch_alter_table("feed_imports") as batch:
            batch.drop_column("content")
            batch.drop_column("override_limits")
